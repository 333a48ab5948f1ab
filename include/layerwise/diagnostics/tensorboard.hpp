// layerwise/diagnostics/tensorboard.hpp — TensorBoard event files written without TensorFlow.
//
//   EventWriter w("runs/mlp");              // runs/mlp/events.out.tfevents.<unix-seconds>.<hostname>
//   w.add_scalar("loss", step, loss);
//   w.add_histogram("dense_1/kernel", step, std::span<const float>(kernel.data(), kernel.size()));
//   $ tensorboard --logdir runs
//
// The file is a sequence of TFRecords, each holding one serialized tensorflow.Event:
//   uint64 length (LE) | uint32 masked_crc32c(length bytes) (LE) | data | uint32 masked_crc32c(data) (LE)
// The messages, with only the fields written here (field numbers as in TensorFlow's
// event.proto and summary.proto):
//   Event          { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary        { repeated Value value = 1; }
//   Summary.Value  { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
//   HistogramProto { double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
// The first record is Event{wall_time, step 0, file_version "brain.Event:2"}; then one record
// per add_scalar / add_histogram call, flushed at once, so a run that is killed leaves a file
// that TensorBoard reads up to the last complete record.
//
// Histograms follow tensorflow/core/lib/histogram/histogram.cc (the HistogramSummary op):
// TF's fixed bucket limits, a value v counted in the first bucket whose limit is > v
// (std::upper_bound), and each run of empty buckets written as one entry.
#pragma once

#include "crc32c.hpp"
#include "protobuf_wire.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>  // gethostname

namespace layerwise::diagnostics {

// ---------------------------------------------------------------- TFRecord framing

/// data framed as one TFRecord: length, its masked CRC, data, the data's masked CRC.
inline std::string tfrecord(std::string_view data) {
    std::string length;
    wire::put_fixed64(length, data.size());
    std::string record = length;
    wire::put_fixed32(record, masked_crc32c(crc32c(length)));
    record.append(data);
    wire::put_fixed32(record, masked_crc32c(crc32c(data)));
    return record;
}

// ---------------------------------------------------------------- TensorFlow's histogram

/// TensorFlow's default bucket limits, ascending (1551 of them):
///   -DBL_MAX, -1e20 < ... < -1e-12, 0, 1e-12 < ... < 1e20, DBL_MAX
/// where the positive limits are 1e-12, 1e-12 * 1.1, ... while < 1e20, formed by repeated
/// multiplication exactly as TF does, so that the edges are bit-identical to TF's.
/// Bucket i counts the values in [limit[i-1], limit[i]).
inline const std::vector<double>& tf_default_bucket_limits() {
    static const std::vector<double> limits = [] {
        constexpr double dbl_max = std::numeric_limits<double>::max();
        std::vector<double> positive;
        for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.push_back(v);
        std::vector<double> all;
        all.reserve(2 * positive.size() + 3);
        all.push_back(-dbl_max);
        for (auto it = positive.rbegin(); it != positive.rend(); ++it) all.push_back(-*it);
        all.push_back(0.0);
        all.insert(all.end(), positive.begin(), positive.end());
        all.push_back(dbl_max);
        return all;
    }();
    return limits;
}

/// The contents of a tensorflow.HistogramProto. The bucket lists are TF's sparse form:
/// every non-empty bucket, and each run of empty buckets as one entry (the run's last
/// limit, count 0). An empty input gives TF's empty histogram: min = DBL_MAX,
/// max = -DBL_MAX, num = sum = sum_squares = 0, one entry (DBL_MAX, 0).
struct Histogram {
    double min = std::numeric_limits<double>::max();
    double max = -std::numeric_limits<double>::max();
    double num = 0;
    double sum = 0;
    double sum_squares = 0;
    std::vector<double> bucket_limit;  // ascending
    std::vector<double> bucket;        // counts, same length
};

/// The histogram TF's HistogramSummary op makes of values: each value is widened to
/// double, sum and sum_squares are accumulated in input order. NaN and infinity are
/// rejected with std::invalid_argument, as TF does.
template <class T>
    requires std::same_as<T, float> || std::same_as<T, double>
Histogram make_histogram(std::span<const T> values) {
    const std::vector<double>& limits = tf_default_bucket_limits();
    std::vector<double> counts(limits.size(), 0.0);
    Histogram h;
    for (std::size_t k = 0; k < values.size(); ++k) {
        const double v = static_cast<double>(values[k]);
        if (!std::isfinite(v))
            throw std::invalid_argument("histogram value " + std::to_string(k) + " is " +
                                        (std::isnan(v) ? "NaN" : "infinite"));
        // First limit > v. Only v == DBL_MAX finds none (TF would then write past its
        // array); it belongs in the last bucket, whose limit is DBL_MAX.
        const auto b = static_cast<std::size_t>(std::upper_bound(limits.begin(), limits.end(), v) - limits.begin());
        counts[std::min(b, counts.size() - 1)] += 1.0;
        h.min = std::min(h.min, v);
        h.max = std::max(h.max, v);
        h.num += 1.0;
        h.sum += v;
        h.sum_squares += v * v;
    }
    // Histogram::EncodeToProto(proto, preserve_zero_buckets = false).
    for (std::size_t i = 0; i < counts.size();) {
        double limit = limits[i];
        const double count = counts[i++];
        if (count <= 0.0)  // extend over the whole run of empty buckets
            while (i < counts.size() && counts[i] <= 0.0) limit = limits[i++];
        h.bucket_limit.push_back(limit);
        h.bucket.push_back(count);
    }
    return h;
}

// ---------------------------------------------------------------- Event messages

namespace detail {
inline std::string encode_histogram_proto(const Histogram& h) {
    std::string m;
    wire::write_double(m, 1, h.min);
    wire::write_double(m, 2, h.max);
    wire::write_double(m, 3, h.num);
    wire::write_double(m, 4, h.sum);
    wire::write_double(m, 5, h.sum_squares);
    wire::write_packed_doubles(m, 6, h.bucket_limit);
    wire::write_packed_doubles(m, 7, h.bucket);
    return m;
}

// Event{wall_time, step, summary = Summary{value = [value]}}; value is an encoded Summary.Value.
inline std::string encode_summary_event(double wall_time, std::int64_t step, std::string_view value) {
    std::string summary;
    wire::write_bytes(summary, 1, value);  // Summary.value
    std::string event;
    wire::write_double(event, 1, wall_time);  // Event.wall_time
    wire::write_int64(event, 2, step);        // Event.step
    wire::write_bytes(event, 5, summary);     // Event.summary
    return event;
}

// Seconds since the Unix epoch, with microseconds, as TF's Event.wall_time.
inline double wall_time_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string hostname() {
    char name[256] = {};  // zero-filled: gethostname need not terminate a truncated name
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    return name;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
}  // namespace detail

// ---------------------------------------------------------------- the writer

/// Writes one TensorBoard event file. Not thread-safe; move-only (a moved-from writer may
/// only be destroyed or assigned to).
class EventWriter {
public:
    /// Creates dir (with its parents) if needed, then the new file
    /// dir/events.out.tfevents.<unix-seconds>.<hostname><filename_suffix>, and writes the
    /// file_version event. Throws std::runtime_error naming the path if the directory or
    /// the file cannot be created, or if the file already exists (two writers started in
    /// the same second in one directory need different suffixes).
    explicit EventWriter(const std::filesystem::path& dir, std::string_view filename_suffix = "") {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw std::runtime_error("EventWriter: cannot create directory " + dir.string() + ": " + ec.message());
        const auto seconds =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
        path_ = dir / ("events.out.tfevents." + std::to_string(seconds.count()) + "." + detail::hostname() +
                       std::string(filename_suffix));
        file_.reset(std::fopen(path_.c_str(), "wbx"));  // "x": fail rather than overwrite
        if (!file_) throw std::runtime_error("EventWriter: cannot create " + path_.string() + ": " + std::strerror(errno));
        std::string event;
        wire::write_double(event, 1, detail::wall_time_now());  // Event.wall_time
        wire::write_int64(event, 2, 0);                          // Event.step
        wire::write_bytes(event, 3, "brain.Event:2");            // Event.file_version
        write_record(event);
    }

    /// Goes on writing the existing event file `file`, cut back to its first `bytes` bytes (a
    /// size bytes_written() gave, at the end of a record): what a resumed run does, so that its
    /// file holds each event once. Throws std::runtime_error naming the file if it is missing,
    /// shorter than `bytes`, or cannot be written.
    EventWriter(const std::filesystem::path& file, std::uintmax_t bytes) : path_(file) {
        std::error_code ec;
        const std::uintmax_t size = std::filesystem::file_size(file, ec);
        if (ec) throw std::runtime_error("EventWriter: cannot continue " + file.string() + ": " + ec.message());
        if (size < bytes)
            throw std::runtime_error("EventWriter: cannot continue " + file.string() + ": it has " +
                                     std::to_string(size) + " bytes, fewer than the " + std::to_string(bytes) +
                                     " written before");
        std::filesystem::resize_file(file, bytes, ec);
        if (ec) throw std::runtime_error("EventWriter: cannot cut " + file.string() + ": " + ec.message());
        file_.reset(std::fopen(path_.c_str(), "ab"));
        if (!file_) throw std::runtime_error("EventWriter: cannot open " + path_.string() + ": " + std::strerror(errno));
        bytes_ = bytes;
    }

    /// The event file's path.
    const std::filesystem::path& path() const noexcept { return path_; }
    /// How many bytes the file holds: complete records only.
    std::uintmax_t bytes_written() const noexcept { return bytes_; }

    /// One scalar; TensorBoard stores it as a float (Summary.Value.simple_value).
    void add_scalar(std::string_view tag, std::int64_t step, double value) {
        std::string v;
        wire::write_bytes(v, 1, tag);                        // Value.tag
        wire::write_float(v, 2, static_cast<float>(value));  // Value.simple_value
        write_record(detail::encode_summary_event(detail::wall_time_now(), step, v));
    }

    /// A histogram of values (see make_histogram). Throws std::invalid_argument naming the
    /// tag, and writes nothing, if a value is NaN or infinite.
    template <class T>
        requires std::same_as<T, float> || std::same_as<T, double>
    void add_histogram(std::string_view tag, std::int64_t step, std::span<const T> values) {
        Histogram h;
        try {
            h = make_histogram(values);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("EventWriter::add_histogram(\"" + std::string(tag) + "\"): " + e.what());
        }
        std::string v;
        wire::write_bytes(v, 1, tag);                                // Value.tag
        wire::write_bytes(v, 5, detail::encode_histogram_proto(h));  // Value.histo
        write_record(detail::encode_summary_event(detail::wall_time_now(), step, v));
    }

    /// The same for any contiguous range of float or double (std::vector, std::array, ...).
    template <std::ranges::contiguous_range R>
        requires std::same_as<std::ranges::range_value_t<R>, float> ||
                 std::same_as<std::ranges::range_value_t<R>, double>
    void add_histogram(std::string_view tag, std::int64_t step, const R& values) {
        using T = std::ranges::range_value_t<R>;
        add_histogram(tag, step, std::span<const T>(std::ranges::data(values), std::ranges::size(values)));
    }

private:
    // Frames one encoded Event and flushes it to the operating system.
    void write_record(std::string_view event) {
        const std::string record = tfrecord(event);
        if (std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size() || std::fflush(file_.get()) != 0)
            throw std::runtime_error("EventWriter: cannot write " + path_.string() + ": " + std::strerror(errno));
        bytes_ += record.size();
    }

    std::filesystem::path path_;
    std::unique_ptr<std::FILE, detail::FileCloser> file_;
    std::uintmax_t bytes_ = 0;
};

}  // namespace layerwise::diagnostics
