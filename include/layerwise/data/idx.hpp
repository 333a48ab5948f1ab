// layerwise/data/idx.hpp — a reader of the IDX format, the file format of MNIST.
//
//   bytes 0-1   0x00 0x00            magic: two zero bytes
//   byte  2     element type         only 0x08 (unsigned byte) is supported
//   byte  3     dimension count d
//   4 d bytes   d sizes              big-endian uint32 each, outermost first
//   the rest    the elements         row-major; exactly the product of the sizes
//
// The file may be plain or gzip-compressed (recognised by its 0x1f 0x8b magic, whatever
// its name). The reader trusts nothing in it: a header that claims more than
// max_idx_bytes is refused before anything is allocated, the buffer grows only as data
// actually arrives, and a short, overlong, empty or corrupt file is an error, never an
// out-of-bounds read, a crash or a hang. Every failure throws DataError with a message
// that starts with the file's path. (zlib ignores non-gzip bytes after the last gzip
// member, as gunzip does; bytes after the data inside the stream are an error.)
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
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

/// Reads the IDX file at path (plain or gzip). expected_rank, if not 0, is the
/// dimension count the file must have (3 for images, 1 for labels). Throws DataError.
inline IdxArray read_idx(const std::filesystem::path& path, std::size_t expected_rank = 0) {
    using detail::data_error;
    detail::ByteSource src(path);

    // Magic: 0x00 0x00 type rank.
    std::uint8_t magic[4];
    const std::size_t got_magic = src.read(magic, 4);
    if (got_magic == 0) throw data_error(path, "empty file (an IDX file starts with a 4-byte magic number)");
    if (got_magic < 4)
        throw data_error(path, "truncated header: " + std::string(src.has()) + " " + std::to_string(got_magic) +
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

    // Sizes: rank big-endian uint32.
    std::vector<std::uint8_t> raw(4 * rank);
    const std::size_t header_bytes = 4 + raw.size();
    if (src.read(raw.data(), raw.size()) < raw.size())
        throw data_error(path, "truncated header: an IDX header with " + std::to_string(rank) + " dimensions needs " +
                                   std::to_string(header_bytes) + " bytes, " + src.has() + " " +
                                   std::to_string(src.consumed()));
    IdxArray a;
    a.shape.resize(rank);
    for (std::size_t i = 0; i < rank; ++i)
        a.shape[i] = std::size_t(raw[4 * i]) << 24 | std::size_t(raw[4 * i + 1]) << 16 |
                     std::size_t(raw[4 * i + 2]) << 8 | std::size_t(raw[4 * i + 3]);

    // The element count. Once past the limit it stops growing, so the product of
    // 32-bit sizes never overflows and an absurd header is refused before any allocation.
    std::uint64_t expected = 1;
    for (std::size_t s : a.shape) expected = expected > max_idx_bytes ? expected : expected * s;
    if (expected > max_idx_bytes)
        throw data_error(path, "header says " + detail::shape_string(a.shape) + ": more than the limit of " +
                                   std::to_string(max_idx_bytes) + " bytes of data; refusing to read it");
    const std::string says = "header says " + detail::shape_string(a.shape) +
                             (rank > 1 ? " = " + std::to_string(expected) : "") + " bytes of data, ";
    const std::string after = " after the " + std::to_string(header_bytes) + "-byte header";

    // The data, in chunks: the buffer only ever holds what the file actually delivered.
    constexpr std::size_t chunk = std::size_t(1) << 20;
    while (a.bytes.size() < expected) {
        const std::size_t old = a.bytes.size();
        const std::size_t want = std::min<std::size_t>(chunk, std::size_t(expected) - old);
        a.bytes.resize(old + want);
        const std::size_t got = src.read(a.bytes.data() + old, want);
        a.bytes.resize(old + got);
        if (got < want)
            throw data_error(path, "truncated: " + says + src.has() + " " + std::to_string(a.bytes.size()) + after);
    }

    // Nothing may follow the data. Count what does (up to the limit) for the message.
    std::uint8_t scratch[4096];
    std::uint64_t extra = 0;
    for (std::size_t got; extra <= max_idx_bytes && (got = src.read(scratch, sizeof scratch)) > 0;) extra += got;
    if (extra > 0)
        throw data_error(path, "trailing bytes: " + says + src.has() + " " +
                                   (extra > max_idx_bytes ? "more than " : "") + std::to_string(expected + extra) +
                                   after);
    return a;
}

}  // namespace layerwise::data
