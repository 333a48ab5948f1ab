// layerwise/io/zip.hpp — the zip archive around an .npz, through libzip (link with -lzip;
// Debian: libzip-dev).
//
// ZipWriter collects members in memory and writes the whole archive at commit();
// ZipReader opens an archive, checking its central directory against the local headers,
// and reads one member at a time, checking its size and CRC. Errors are CheckpointErrors
// naming the archive and, where there is one, the member.
#pragma once

#include "checkpoint_error.hpp"

#include <zip.h>

#include <cstddef>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace layerwise::io {

namespace detail {
// libzip's text for an error code, e.g. "Not a zip archive".
inline std::string zip_error_text(int code) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    return text;
}
}  // namespace detail

/// Writes a new zip archive at `file` (replacing any file there): add() members, then
/// commit(). Members are stored uncompressed, as numpy.savez stores them. Nothing is
/// written before commit(); a writer destroyed without commit() leaves no file.
class ZipWriter {
public:
    explicit ZipWriter(std::filesystem::path file) : file_(std::move(file)) {
        int code = 0;
        archive_ = zip_open(file_.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
        if (archive_ == nullptr)
            throw CheckpointError(file_.string() + ": cannot create a zip archive: " + detail::zip_error_text(code));
    }
    ~ZipWriter() {
        if (archive_ != nullptr) zip_discard(archive_);
    }
    ZipWriter(const ZipWriter&) = delete;
    ZipWriter& operator=(const ZipWriter&) = delete;

    /// Adds member `name` ("dense/kernel.npy") holding `bytes`.
    void add(const std::string& name, std::string bytes) {
        const std::string& kept = members_.emplace_back(std::move(bytes));  // libzip reads it at commit()
        zip_source_t* source = zip_source_buffer(archive_, kept.data(), kept.size(), 0);
        if (source == nullptr) fail("cannot add " + name);
        const zip_int64_t index = zip_file_add(archive_, name.c_str(), source, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(source);  // still ours when zip_file_add fails
            fail("cannot add " + name);
        }
        if (zip_set_file_compression(archive_, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) < 0)
            fail("cannot store " + name);
        if (zip_file_set_mtime(archive_, static_cast<zip_uint64_t>(index), member_time(), 0) < 0)
            fail("cannot date " + name);
    }

    /// Writes the archive and closes it (libzip writes a temporary file and renames it to `file`).
    void commit() {
        if (zip_close(archive_) < 0) fail("cannot write the zip archive");
        archive_ = nullptr;
    }

private:
    /// Every member is dated 1980-01-01 00:00 (the zip format's first day) instead of now, so
    /// the same parameters give the same bytes: same seed, same file. The zip format stores
    /// local time, so the date is made from local time too and reads the same in every zone.
    static std::time_t member_time() {
        std::tm day{};
        day.tm_year = 80;
        day.tm_mday = 1;
        day.tm_isdst = -1;
        return std::mktime(&day);
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw CheckpointError(file_.string() + ": " + what + ": " + zip_strerror(archive_));
    }

    std::filesystem::path file_;
    zip_t* archive_ = nullptr;
    std::deque<std::string> members_;  // the members' bytes; a deque never moves its elements
};

/// Reads the members of an existing zip archive.
class ZipReader {
public:
    explicit ZipReader(std::filesystem::path file) : file_(std::move(file)) {
        int code = 0;
        archive_ = zip_open(file_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
        if (archive_ == nullptr) {
            const bool damaged = code == ZIP_ER_NOZIP || code == ZIP_ER_INCONS;
            throw CheckpointError(file_.string() + ": cannot open as a zip archive: " + detail::zip_error_text(code) +
                                  (damaged ? " (truncated, or not an .npz file)" : ""));
        }
    }
    ~ZipReader() { zip_discard(archive_); }
    ZipReader(const ZipReader&) = delete;
    ZipReader& operator=(const ZipReader&) = delete;

    /// The names of the archive's members, in its directory's order.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        const zip_int64_t n = zip_get_num_entries(archive_, 0);
        for (zip_int64_t i = 0; i < n; ++i)
            if (const char* name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0)) out.emplace_back(name);
        return out;
    }

    /// The bytes of member `name`. Throws if the member is missing, larger than max_size
    /// (so a damaged directory cannot make us allocate gigabytes), or fails its CRC.
    std::string read(const std::string& name, std::size_t max_size) const {
        const std::string where = file_.string() + ": " + name + ": ";
        zip_stat_t stat;
        zip_stat_init(&stat);
        if (zip_stat(archive_, name.c_str(), 0, &stat) < 0) throw CheckpointError(where + "missing from the archive");
        if ((stat.valid & ZIP_STAT_SIZE) == 0 || stat.size > max_size)
            throw CheckpointError(where + "member is " + std::to_string(stat.size) + " bytes, expected at most " +
                                  std::to_string(max_size));
        const std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> member(zip_fopen_index(archive_, stat.index, 0), zip_fclose);
        if (member == nullptr) throw CheckpointError(where + "cannot open: " + zip_strerror(archive_));
        // Read until libzip reports the end: it checks the CRC there. One spare byte
        // catches a member longer than its directory entry.
        std::string bytes(static_cast<std::size_t>(stat.size) + 1, '\0');
        std::size_t got = 0;
        for (;;) {
            const zip_int64_t n = zip_fread(member.get(), bytes.data() + got, bytes.size() - got);
            if (n < 0) throw CheckpointError(where + "damaged: " + zip_file_strerror(member.get()));
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (got != stat.size)
            throw CheckpointError(where + "holds " + std::to_string(got) + " bytes, its directory entry says " +
                                  std::to_string(stat.size));
        bytes.resize(got);
        return bytes;
    }

private:
    std::filesystem::path file_;
    zip_t* archive_ = nullptr;
};

}  // namespace layerwise::io
