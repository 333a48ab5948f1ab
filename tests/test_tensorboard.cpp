// Tests of the TensorBoard event writer: CRC-32C and its mask, the protobuf wire pieces,
// TF's histogram buckets, and event files decoded independently by tests/decode_tfevents.py
// (Debian's /usr/bin/python3 with python3-protobuf, no TensorFlow).
#include "testing.hpp"

#include <doctest/doctest.h>
#include <layerwise/diagnostics/crc32c.hpp>
#include <layerwise/diagnostics/protobuf_wire.hpp>
#include <layerwise/diagnostics/tensorboard.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>


using namespace layerwise::diagnostics;
namespace fs = std::filesystem;
using layerwise::testing::read_file;
using layerwise::testing::TempDir;
using layerwise::testing::write_file;

namespace {
constexpr double dbl_max = std::numeric_limits<double>::max();

// The build defines LAYERWISE_TEST_DIR as the tests' source directory; else use this file's.
#ifdef LAYERWISE_TEST_DIR
const fs::path test_dir = LAYERWISE_TEST_DIR;
#else
const fs::path test_dir = fs::path(__FILE__).parent_path();
#endif


// What decode_tfevents.py printed, and its exit status.
struct Decoded {
    int status = -1;
    std::string output;
    std::vector<std::string> events;  // one JSON object per event, in file order
};

Decoded decode(const fs::path& events_file) {
    const fs::path python = "/usr/bin/python3", script = test_dir / "decode_tfevents.py";
    if (!fs::exists(python)) FAIL("/usr/bin/python3 is missing: install Debian's python3 and python3-protobuf");
    if (!fs::exists(script)) FAIL(script.string() << " is missing (is LAYERWISE_TEST_DIR the tests directory?)");
    Decoded d;
    auto [status, output] = layerwise::testing::run_command(python.string() + " '" + script.string() + "' '" +
                                                            events_file.string() + "' 2>&1");
    d.status = status;
    d.output = std::move(output);
    // Status 2: the checker itself could not run (no google.protobuf, bad usage, crash).
    if (d.status != 0 && d.status != 1)
        FAIL("decode_tfevents.py could not check the file (exit status " << d.status << "); install Debian's "
             "python3-protobuf. Output:\n" << d.output);
    std::size_t start = 0;
    for (std::size_t end; (end = d.output.find('\n', start)) != std::string::npos; start = end + 1)
        if (d.output.compare(start, 9, "{\"step\": ") == 0) d.events.push_back(d.output.substr(start, end - start));
    return d;
}

// Readers for the decoder's flat JSON lines ("key": value, no nesting we need to walk).
std::size_t value_at(const std::string& json, const std::string& key) {
    const std::string k = "\"" + key + "\": ";
    const std::size_t at = json.find(k);
    REQUIRE_MESSAGE(at != std::string::npos, "no \"" << key << "\" in " << json);
    return at + k.size();
}

double number(const std::string& json, const std::string& key) {
    return std::strtod(json.c_str() + value_at(json, key), nullptr);
}

std::string text(const std::string& json, const std::string& key) {
    const std::size_t from = value_at(json, key) + 1;  // past the opening quote
    return json.substr(from, json.find('"', from) - from);
}

bool flag(const std::string& json, const std::string& key) { return json.compare(value_at(json, key), 4, "true") == 0; }

std::vector<double> numbers(const std::string& json, const std::string& key) {
    const char* p = json.c_str() + value_at(json, key) + 1;  // past '['
    std::vector<double> out;
    while (*p != ']') {
        char* end = nullptr;
        out.push_back(std::strtod(p, &end));
        REQUIRE_MESSAGE(end != p, "bad list \"" << key << "\" in " << json);
        p = end;
        if (*p == ',') p += 2;  // ", "
    }
    return out;
}

std::string hex(const std::string& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        s += digits[b >> 4];
        s += digits[b & 0xF];
    }
    return s;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

TEST_CASE("crc32c matches the check value and the iSCSI test vectors (RFC 3720 B.4)") {
    CHECK(crc32c("123456789") == 0xE3069283u);
    CHECK(crc32c("") == 0u);
    std::array<unsigned char, 32> bytes{};
    CHECK(crc32c(bytes.data(), bytes.size()) == 0x8A9136AAu);  // 32 zeros
    bytes.fill(0xFF);
    CHECK(crc32c(bytes.data(), bytes.size()) == 0x62A8AB43u);
    std::iota(bytes.begin(), bytes.end(), 0);  // 0, 1, ..., 31
    CHECK(crc32c(bytes.data(), bytes.size()) == 0x46DD794Eu);
    std::reverse(bytes.begin(), bytes.end());  // 31, 30, ..., 0
    CHECK(crc32c(bytes.data(), bytes.size()) == 0x113FDB5Cu);
}

TEST_CASE("masked_crc32c rotates right by 15 and adds 0xa282ead8 modulo 2^32") {
    CHECK(masked_crc32c(0) == 0xa282ead8u);
    // 0xE3069283: >> 15 = 0x0001C60D, << 17 = 0x25060000, | = 0x2507C60D, + 0xa282ead8 = 0xC78AB0E5
    CHECK(masked_crc32c(0xE3069283u) == 0xC78AB0E5u);
    CHECK(masked_crc32c(0xFFFFFFFFu) == 0xa282ead7u);  // the sum wraps around
    static_assert(masked_crc32c(1) == (1u << 17) + 0xa282ead8u);
}

TEST_CASE("protobuf wire pieces produce the documented bytes") {
    std::string s;
    wire::put_varint(s, 300);
    CHECK(hex(s) == "ac02");
    s.clear();
    wire::write_int64(s, 2, -1);  // key 0x10, then ten bytes of two's complement
    CHECK(hex(s) == "10ffffffffffffffffff01");
    s.clear();
    wire::write_double(s, 1, 1.0);
    CHECK(hex(s) == "09000000000000f03f");
    s.clear();
    wire::write_float(s, 2, 0.5f);
    CHECK(hex(s) == "150000003f");
    s.clear();
    wire::write_bytes(s, 1, "ab");
    CHECK(hex(s) == "0a026162");
    s.clear();
    const std::array<double, 2> packed = {1.0, -2.0};
    wire::write_packed_doubles(s, 6, packed);
    CHECK(hex(s) == "3210000000000000f03f00000000000000c0");
}

TEST_CASE("tfrecord frames data with a little-endian length and two masked CRCs") {
    const std::string record = tfrecord("hello");
    REQUIRE(record.size() == 8 + 4 + 5 + 4);
    CHECK(hex(record.substr(0, 8)) == "0500000000000000");
    const std::uint32_t length_crc = masked_crc32c(crc32c(record.data(), 8));
    const std::uint32_t data_crc = masked_crc32c(crc32c("hello"));
    std::string expected_length_crc, expected_data_crc;
    wire::put_fixed32(expected_length_crc, length_crc);
    wire::put_fixed32(expected_data_crc, data_crc);
    CHECK(record.substr(8, 4) == expected_length_crc);
    CHECK(record.substr(12, 5) == "hello");
    CHECK(record.substr(17, 4) == expected_data_crc);
    CHECK(data_crc == 0x191C1FBBu);  // crc32c("hello") = 0x9A71BB4C, masked
}

TEST_CASE("TF's default bucket limits: -DBL_MAX, mirrored 1e-12 * 1.1^k, 0, 1e-12 * 1.1^k, DBL_MAX") {
    const std::vector<double>& limits = tf_default_bucket_limits();
    REQUIRE(limits.size() == 1551);  // 774 positive limits below 1e20, mirrored, plus 0 and +-DBL_MAX
    CHECK(limits.front() == -dbl_max);
    CHECK(limits.back() == dbl_max);
    CHECK(limits[775] == 0.0);
    CHECK(limits[776] == 1e-12);
    CHECK(limits[777] == 1e-12 * 1.1);
    CHECK(limits[1549] < 1e20);
    CHECK(limits[1549] * 1.1 >= 1e20);
    CHECK(std::adjacent_find(limits.begin(), limits.end(), std::greater_equal<>()) == limits.end());
    for (std::size_t i = 0; i < limits.size(); ++i) CHECK(limits[i] == -limits[limits.size() - 1 - i]);
}

TEST_CASE("make_histogram counts v in the first bucket whose limit is > v, as TF's upper_bound") {
    const std::array<double, 3> v = {-1e-12, 0.0, 1e-12};
    const Histogram h = make_histogram(std::span<const double>(v));
    // A run of empty buckets is one entry: its last limit, count 0.
    CHECK(h.bucket_limit == std::vector<double>{-1e-12, 0.0, 1e-12, 1e-12 * 1.1, dbl_max});
    CHECK(h.bucket == std::vector<double>{0, 1, 1, 1, 0});
    CHECK(h.min == -1e-12);
    CHECK(h.max == 1e-12);
    CHECK(h.num == 3);
    CHECK(h.sum == 0.0);
    CHECK(h.sum_squares == 2e-24);
}

TEST_CASE("make_histogram at the edges: empty input, +-DBL_MAX, floats, NaN and infinity") {
    SUBCASE("empty input gives TF's empty histogram") {
        const Histogram h = make_histogram(std::span<const float>());
        CHECK(h.min == dbl_max);
        CHECK(h.max == -dbl_max);
        CHECK(h.num == 0);
        CHECK(h.bucket_limit == std::vector<double>{dbl_max});
        CHECK(h.bucket == std::vector<double>{0});
    }
    SUBCASE("DBL_MAX goes in the last bucket, -DBL_MAX in the second") {
        const std::array<double, 2> v = {dbl_max, -dbl_max};
        const Histogram h = make_histogram(std::span<const double>(v));
        const std::vector<double>& limits = tf_default_bucket_limits();
        CHECK(h.bucket_limit == std::vector<double>{-dbl_max, limits[1], limits[limits.size() - 2], dbl_max});
        CHECK(h.bucket == std::vector<double>{0, 1, 0, 1});
    }
    SUBCASE("floats are widened to double") {
        const std::array<float, 2> v = {0.1f, -2.5f};
        const Histogram h = make_histogram(std::span<const float>(v));
        CHECK(h.min == -2.5);
        CHECK(h.max == static_cast<double>(0.1f));
        CHECK(h.sum == static_cast<double>(0.1f) - 2.5);
    }
    SUBCASE("NaN and infinity are rejected") {
        const std::array<double, 2> nan = {1.0, std::numeric_limits<double>::quiet_NaN()};
        const std::array<float, 1> inf = {-std::numeric_limits<float>::infinity()};
        CHECK_THROWS_WITH_AS(make_histogram(std::span<const double>(nan)), "histogram value 1 is NaN",
                             std::invalid_argument);
        CHECK_THROWS_WITH_AS(make_histogram(std::span<const float>(inf)), "histogram value 0 is infinite",
                             std::invalid_argument);
    }
}

TEST_CASE("an event file with scalars and histograms decodes independently with python3-protobuf") {
    TempDir dir("tb_roundtrip");
    const double t0 = now_seconds();
    EventWriter writer(dir.path / "run1");  // the directory is created

    // File name: events.out.tfevents.<unix-seconds>.<hostname>
    const std::string name = writer.path().filename().string();
    CHECK(writer.path().parent_path() == dir.path / "run1");
    CHECK(name.rfind("events.out.tfevents.", 0) == 0);
    CHECK(name.ends_with("." + detail::hostname()));
    const double name_seconds = std::strtod(name.c_str() + std::string("events.out.tfevents.").size(), nullptr);
    CHECK(name_seconds >= std::floor(t0));
    CHECK(name_seconds <= now_seconds());

    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal(0.5, 2.0);
    std::vector<float> weights(1000);
    for (float& w : weights) w = static_cast<float>(normal(rng));
    std::vector<double> gradients(257);
    for (double& g : gradients) g = normal(rng) * 1e-3;
    const std::array<double, 3> edges = {-1e-12, 0.0, 1e-12};

    const std::vector<double> losses = {2.302585, 1.0 / 3.0, 0.1, 0.0, -7.25};
    for (std::int64_t step = 0; step < 5; ++step) writer.add_scalar("loss", step * 10, losses[std::size_t(step)]);
    writer.add_histogram("dense/kernel", 40, std::span<const float>(weights));
    writer.add_histogram("dense/kernel_grad", 40, gradients);  // the contiguous-range overload
    writer.add_histogram("edges", 41, std::span<const double>(edges));
    writer.add_scalar("big_step", std::int64_t{1} << 40, 1e10);
    writer.add_scalar("negative_step", -3, 1.0);

    // Read while the writer is still open: every event has been flushed.
    const Decoded d = decode(writer.path());
    INFO(d.output);
    REQUIRE(d.status == 0);
    CHECK(d.output.find("\"ok\": true") != std::string::npos);
    CHECK(d.output.find("\"file_version\": \"brain.Event:2\", \"records\": 11,") != std::string::npos);
    REQUIRE(d.events.size() == 11);

    const double t1 = now_seconds();
    for (const std::string& e : d.events) {
        CHECK(number(e, "wall_time") >= t0 - 1e-3);
        CHECK(number(e, "wall_time") <= t1 + 1e-3);
    }
    CHECK(text(d.events[0], "file_version") == "brain.Event:2");
    CHECK(number(d.events[0], "step") == 0);
    CHECK(d.events[0].find("\"values\": []") != std::string::npos);

    for (std::size_t k = 0; k < 5; ++k) {
        const std::string& e = d.events[1 + k];
        CHECK(text(e, "tag") == "loss");
        CHECK(text(e, "kind") == "simple_value");
        CHECK(number(e, "step") == double(10 * k));
        CHECK(number(e, "simple_value") == static_cast<double>(static_cast<float>(losses[k])));
    }
    CHECK(text(d.events[9], "tag") == "big_step");
    CHECK(number(d.events[9], "step") == 1099511627776.0);
    CHECK(number(d.events[9], "simple_value") == 1e10);  // 1e10 is exact in float
    CHECK(text(d.events[10], "tag") == "negative_step");
    CHECK(number(d.events[10], "step") == -3);

    // Histograms: min, max, sum and sum_squares as computed here in the same order.
    const auto check_histogram = [&](const std::string& e, const std::string& tag, double step, const auto& values) {
        CAPTURE(tag);
        CHECK(text(e, "tag") == tag);
        CHECK(text(e, "kind") == "histo");
        CHECK(number(e, "step") == step);
        double min = dbl_max, max = -dbl_max, sum = 0, sum_squares = 0;
        for (const auto x : values) {
            const double v = static_cast<double>(x);
            min = std::min(min, v);
            max = std::max(max, v);
            sum += v;
            sum_squares += v * v;
        }
        CHECK(number(e, "num") == double(values.size()));
        CHECK(number(e, "min") == min);
        CHECK(number(e, "max") == max);
        CHECK(number(e, "sum") == sum);
        CHECK(number(e, "sum_squares") == sum_squares);
        CHECK(number(e, "bucket_sum") == double(values.size()));
        CHECK(flag(e, "bucket_sum_equals_num"));
        CHECK(flag(e, "limits_ascending"));
        const std::vector<double> counts = numbers(e, "nonempty_counts");
        CHECK(std::accumulate(counts.begin(), counts.end(), 0.0) == double(values.size()));
    };
    check_histogram(d.events[6], "dense/kernel", 40, weights);
    check_histogram(d.events[7], "dense/kernel_grad", 40, gradients);
    check_histogram(d.events[8], "edges", 41, edges);
    // The weights' bucket list as make_histogram builds it (the file holds exactly that).
    const Histogram wh = make_histogram(std::span<const float>(weights));
    CHECK(number(d.events[6], "buckets") == double(wh.bucket.size()));
    // Bucket assignment as seen by the independent decoder.
    CHECK(numbers(d.events[8], "nonempty_limits") == std::vector<double>{0.0, 1e-12, 1e-12 * 1.1});
    CHECK(numbers(d.events[8], "nonempty_counts") == std::vector<double>{1, 1, 1});
    CHECK(number(d.events[8], "buckets") == 5);
}

TEST_CASE("the decoder reports a corrupted byte, a corrupted length and a truncated file") {
    TempDir dir("tb_corrupt");
    fs::path original;
    {
        EventWriter writer(dir.path);
        writer.add_scalar("loss", 1, 0.5);
        const std::array<float, 4> w = {1, 2, 3, 4};
        writer.add_histogram("w", 1, w);
        original = writer.path();
    }
    const std::string bytes = read_file(original);
    const fs::path copy = dir.path / "copy.tfevents";

    write_file(copy, bytes);
    REQUIRE(decode(copy).status == 0);  // the unchanged copy is fine

    SUBCASE("one byte of the last record's data") {
        std::string bad = bytes;
        bad[bad.size() - 10] = static_cast<char>(bad[bad.size() - 10] ^ 0x01);
        write_file(copy, bad);
        const Decoded d = decode(copy);
        CHECK(d.status == 1);
        CHECK(d.output.find("\"ok\": false") != std::string::npos);
        CHECK(d.output.find("record 2: data CRC mismatch") != std::string::npos);
    }
    SUBCASE("one byte of the second record's length") {
        // The first record (file_version) is shorter than 256 bytes: its length is bytes[0].
        const std::size_t second = 8 + 4 + std::size_t(std::uint8_t(bytes[0])) + 4;
        std::string bad = bytes;
        bad[second] = static_cast<char>(bad[second] ^ 0x40);
        write_file(copy, bad);
        const Decoded d = decode(copy);
        CHECK(d.status == 1);
        CHECK(d.output.find("record 1: length CRC mismatch") != std::string::npos);
    }
    SUBCASE("the last byte missing, as after a kill in mid-write") {
        write_file(copy, bytes.substr(0, bytes.size() - 1));
        const Decoded d = decode(copy);
        CHECK(d.status == 1);
        CHECK(d.output.find("record 2: truncated data") != std::string::npos);
    }
}

TEST_CASE("EventWriter errors name the path and leave the file readable") {
    TempDir dir("tb_errors");
    SUBCASE("a directory that cannot be created") {
        const fs::path file = dir.path / "plain_file";
        write_file(file, "x");
        const fs::path below = file / "run";
        try {
            EventWriter writer(below);
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()).find(below.string()) != std::string::npos);
        }
    }
    SUBCASE("a file that cannot be created") {
        // /proc/self is a directory in which nobody, not even root, can create a file.
        try {
            EventWriter writer("/proc/self");
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()).find("/proc/self/events.out.tfevents.") != std::string::npos);
        }
    }
    SUBCASE("a second writer never overwrites the first one's file") {
        EventWriter first(dir.path, ".same");
        first.add_scalar("a", 1, 1.0);
        try {
            EventWriter second(dir.path, ".same");  // same second: the name exists
            CHECK(second.path() != first.path());   // the clock ticked between them
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()).find(first.path().string()) != std::string::npos);
        }
        EventWriter other(dir.path, ".other");  // a different suffix always works
        CHECK(other.path() != first.path());
        const Decoded d = decode(first.path());
        CHECK(d.status == 0);
        CHECK(d.events.size() == 2);
    }
    SUBCASE("NaN in a histogram names the tag and writes nothing") {
        EventWriter writer(dir.path);
        writer.add_scalar("a", 1, 1.0);
        const std::vector<float> w = {1.0f, std::numeric_limits<float>::quiet_NaN()};
        CHECK_THROWS_WITH_AS(writer.add_histogram("layer/w", 2, w),
                             "EventWriter::add_histogram(\"layer/w\"): histogram value 1 is NaN", std::invalid_argument);
        writer.add_scalar("b", 3, 2.0);
        EventWriter moved = std::move(writer);
        moved.add_scalar("c", 4, 3.0);
        const Decoded d = decode(moved.path());
        INFO(d.output);
        CHECK(d.status == 0);
        REQUIRE(d.events.size() == 4);
        CHECK(text(d.events[1], "tag") == "a");
        CHECK(text(d.events[2], "tag") == "b");
        CHECK(text(d.events[3], "tag") == "c");
    }
}
