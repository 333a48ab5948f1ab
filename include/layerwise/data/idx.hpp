// layerwise/data/idx.hpp — a reader of the IDX format, the file format of MNIST.
//
//   bytes 0-1   0x00 0x00            magic: two zero bytes
//   byte  2     element type         only 0x08 (unsigned byte) is supported
//   byte  3     dimension count d
//   4 d bytes   d sizes              big-endian uint32 each, outermost first
//   the rest    the elements         row-major; exactly the product of the sizes
//
// The file may be plain or gzip-compressed (recognised by its 0x1f 0x8b magic, whatever
// its name). The reader trusts nothing in it: a header that claims more than the caller's
// limits (IdxLimits; at most max_idx_bytes) is refused before anything is allocated or
// decompressed, the buffer grows only as data actually arrives, data past the header's
// promise is refused after one small block, and a short, overlong, empty or corrupt file is
// an error, never an out-of-bounds read, a crash or a hang. Every failure throws DataError with a message
// that starts with the file's path. (zlib ignores non-gzip bytes after the last gzip
// member, as gunzip does; bytes after the data inside the stream are an error.)
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise::data {

/// Any problem with a data file or directory; what() starts with the path.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The largest amount of element data read_idx accepts: 2^31 bytes (MNIST's largest
/// file holds 47,040,000).
inline constexpr std::uint64_t max_idx_bytes = std::uint64_t(1) << 31;

/// An IDX file's contents.
struct IdxArray {
    std::vector<std::size_t> shape;   // (d): the sizes, outermost first, e.g. {60000, 28, 28}
    std::vector<std::uint8_t> bytes;  // (product of shape): the elements, row-major
};

namespace detail {

inline DataError data_error(const std::filesystem::path& path, const std::string& what) {
    return DataError(path.string() + ": " + what);
}

// The bytes of a plain or gzip-compressed file, read front to back.
class ByteSource {
public:
    explicit ByteSource(const std::filesystem::path& path) : path_(path) {
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (status.type() == std::filesystem::file_type::not_found) throw data_error(path, "no such file");
        if (ec) throw data_error(path, "cannot access: " + ec.message());
        if (!std::filesystem::is_regular_file(status)) throw data_error(path, "not a regular file");
        file_.reset(std::fopen(path.c_str(), "rb"));
        if (!file_) throw data_error(path, std::string("cannot open: ") + std::strerror(errno));
        unsigned char magic[2] = {0, 0};  // gzip starts with 0x1f 0x8b
        const std::size_t got = std::fread(magic, 1, 2, file_.get());
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            file_.reset();
            gz_.reset(gzopen(path.c_str(), "rb"));
            if (!gz_) throw data_error(path, std::string("cannot open as gzip: ") + std::strerror(errno));
            gzbuffer(gz_.get(), 1 << 17);
        } else {
            std::rewind(file_.get());
        }
    }

    bool compressed() const { return gz_ != nullptr; }

    /// Bytes read so far (decompressed bytes for a gzip file).
    std::uint64_t consumed() const { return consumed_; }

    /// "file has" or "decompressed file has", for messages about consumed().
    const char* has() const { return compressed() ? "decompressed file has" : "file has"; }

    /// Reads up to n bytes into dst; returns fewer only at the end of the data.
    std::size_t read(std::uint8_t* dst, std::size_t n) {
        std::size_t total = 0;
        if (file_) {
            total = std::fread(dst, 1, n, file_.get());
            if (std::ferror(file_.get())) throw data_error(path_, std::string("read error: ") + std::strerror(errno));
        } else {
            while (total < n) {
                const unsigned want = unsigned(std::min<std::size_t>(n - total, std::size_t(1) << 30));
                const int got = gzread(gz_.get(), dst + total, want);
                if (got <= 0) break;  // -1 (error) or 0 (end): gzerror tells which, below
                total += std::size_t(got);
            }
            // A short read is an end of data only if zlib saw a complete, intact stream;
            // a truncated stream leaves Z_BUF_ERROR, a corrupt one Z_DATA_ERROR.
            int err = Z_OK;
            std::string message = gzerror(gz_.get(), &err);  // "<path>: <what>"
            if (err == Z_ERRNO) message = std::strerror(errno);
            if (message.starts_with(path_.string() + ": ")) message.erase(0, path_.string().size() + 2);
            if (err != Z_OK) throw data_error(path_, "corrupt or truncated gzip stream: " + message);
        }
        consumed_ += total;
        return total;
    }

private:
    struct CloseFile {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    struct CloseGz {
        void operator()(gzFile g) const { gzclose(g); }
    };
    std::filesystem::path path_;
    std::unique_ptr<std::FILE, CloseFile> file_;          // a plain file, or
    std::unique_ptr<gzFile_s, CloseGz> gz_;               // a gzip file
    std::uint64_t consumed_ = 0;
};

// The element type's name, for messages.
inline std::string idx_type_name(unsigned type) {
    switch (type) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "int16";
        case 0x0C: return "int32";
        case 0x0D: return "float32";
        case 0x0E: return "float64";
        default: return "unknown";
    }
}

inline std::string hex_byte(unsigned b) {
    char s[8];
    std::snprintf(s, sizeof s, "0x%02x", b & 0xffu);
    return s;
}

// "60000 x 28 x 28"
inline std::string shape_string(const std::vector<std::size_t>& shape) {
    std::string s;
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
    return s;
}

}  // namespace detail

/// What a reader accepts from an IDX header, checked before any element is read, so that
/// a small file whose header promises gigabytes (a gzip bomb) costs nothing.
struct IdxLimits {
    std::uint64_t max_items = std::numeric_limits<std::uint64_t>::max();  // the first (outermost) size
    std::uint64_t max_bytes = max_idx_bytes;  // the element data in all
    const char* item_name = "items";          // for messages: "images", "labels"
};

/// An IDX file opened and its header checked; the elements are then read front to back.
class IdxReader {
public:
    /// Opens path (plain or gzip) and reads its header. expected_rank, if not 0, is the
    /// dimension count the file must have (3 for images, 1 for labels). Throws DataError.
    IdxReader(const std::filesystem::path& path, std::size_t expected_rank = 0, IdxLimits limits = {})
        : path_(path), src_(path) {
        using detail::data_error;
        std::uint8_t magic[4];  // 0x00 0x00 type rank
        const std::size_t got_magic = src_.read(magic, 4);
        if (got_magic == 0) throw data_error(path, "empty file (an IDX file starts with a 4-byte magic number)");
        if (got_magic < 4)
            throw data_error(path, "truncated header: " + std::string(src_.has()) + " " + std::to_string(got_magic) +
                                       " bytes, an IDX header needs at least 4");
        if (magic[0] != 0 || magic[1] != 0)
            throw data_error(path, "not an IDX file: it starts with " + detail::hex_byte(magic[0]) + " " +
                                       detail::hex_byte(magic[1]) + ", an IDX file starts with two zero bytes");
        if (magic[2] != 0x08)
            throw data_error(path, "unsupported element type " + detail::hex_byte(magic[2]) + " (" +
                                       detail::idx_type_name(magic[2]) + "); only 0x08 (unsigned byte) is supported");
        const std::size_t rank = magic[3];
        if (rank == 0) throw data_error(path, "the header says 0 dimensions");
        if (expected_rank != 0 && rank != expected_rank)
            throw data_error(path, "the header says " + std::to_string(rank) + " dimensions, expected " +
                                       std::to_string(expected_rank));

        std::vector<std::uint8_t> raw(4 * rank);  // sizes: rank big-endian uint32
        header_bytes_ = 4 + raw.size();
        if (src_.read(raw.data(), raw.size()) < raw.size())
            throw data_error(path, "truncated header: an IDX header with " + std::to_string(rank) +
                                       " dimensions needs " + std::to_string(header_bytes_) + " bytes, " + src_.has() +
                                       " " + std::to_string(src_.consumed()));
        shape_.resize(rank);
        for (std::size_t i = 0; i < rank; ++i)
            shape_[i] = std::size_t(raw[4 * i]) << 24 | std::size_t(raw[4 * i + 1]) << 16 |
                        std::size_t(raw[4 * i + 2]) << 8 | std::size_t(raw[4 * i + 3]);

        // Once past the limit the count stops growing, so the product of 32-bit sizes never
        // overflows and an absurd header is refused before any allocation.
        if (shape_[0] > limits.max_items)
            throw data_error(path, "header says " + detail::shape_string(shape_) + ": more than the limit of " +
                                       std::to_string(limits.max_items) + " " + limits.item_name +
                                       "; refusing to read it");
        // max_bytes is capped at max_idx_bytes (2^31): then size_ * s < 2^31 * 2^32 never overflows.
        const std::uint64_t max_bytes = std::min(limits.max_bytes, max_idx_bytes);
        size_ = 1;
        for (std::size_t s : shape_) size_ = size_ > max_bytes ? size_ : size_ * s;
        if (size_ > max_bytes)
            throw data_error(path, "header says " + detail::shape_string(shape_) + ": more than the limit of " +
                                       std::to_string(max_bytes) + " bytes of data; refusing to read it");
    }

    const std::vector<std::size_t>& shape() const { return shape_; }
    /// The element bytes the header promises.
    std::uint64_t size() const { return size_; }
    /// Element bytes read so far.
    std::uint64_t position() const { return read_; }

    /// Reads the next n element bytes (at most size() - position()); a file that ends first
    /// is a DataError ("truncated").
    void read(std::uint8_t* dst, std::size_t n) {
        if (n > size_ - read_) throw std::logic_error("layerwise: IdxReader::read past the header's size");
        const std::size_t got = src_.read(dst, n);
        read_ += got;
        if (got < n) throw detail::data_error(path_, "truncated: " + says() + src_.has() + " " + std::to_string(read_) + after());
    }

    /// Checks that nothing follows the data. Reads at most one small block past it, so that
    /// a stream that goes on (a gzip bomb behind an honest header) is refused at once.
    void finish() {
        std::uint8_t scratch[4096];
        const std::size_t extra = src_.read(scratch, sizeof scratch);
        if (extra > 0)
            throw detail::data_error(path_, "trailing bytes: " + says() + src_.has() + " " +
                                                (extra == sizeof scratch ? "more than " : "") +
                                                std::to_string(size_ + extra) + after());
    }

private:
    std::string says() const {
        return "header says " + detail::shape_string(shape_) +
               (shape_.size() > 1 ? " = " + std::to_string(size_) : "") + " bytes of data, ";
    }
    std::string after() const { return " after the " + std::to_string(header_bytes_) + "-byte header"; }

    std::filesystem::path path_;
    detail::ByteSource src_;
    std::vector<std::size_t> shape_;
    std::uint64_t size_ = 0, read_ = 0;
    std::size_t header_bytes_ = 0;
};

/// Reads the IDX file at path (plain or gzip) whole. expected_rank, if not 0, is the
/// dimension count the file must have (3 for images, 1 for labels). Throws DataError.
inline IdxArray read_idx(const std::filesystem::path& path, std::size_t expected_rank = 0, IdxLimits limits = {}) {
    IdxReader reader(path, expected_rank, limits);
    IdxArray a;
    a.shape = reader.shape();
    // In chunks: the buffer only ever holds what the file actually delivered.
    constexpr std::size_t chunk = std::size_t(1) << 20;
    while (a.bytes.size() < reader.size()) {
        const std::size_t old = a.bytes.size();
        const std::size_t want = std::min<std::size_t>(chunk, std::size_t(reader.size()) - old);
        a.bytes.resize(old + want);
        try {
            reader.read(a.bytes.data() + old, want);
        } catch (...) {
            a.bytes.resize(std::size_t(reader.position()));
            throw;
        }
    }
    reader.finish();
    return a;
}

}  // namespace layerwise::data
