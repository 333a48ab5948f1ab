// What the harnesses share: a per-process scratch directory for the files the readers
// open, and whole-file writes (plain and gzip).
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace fuzz {

// A fresh directory for this process (in memory under /dev/shm where there is one),
// removed at exit. A crash leaves it behind; it holds only the last input's files.
inline const std::filesystem::path& scratch_dir(std::string_view harness) {
    struct Dir {
        std::filesystem::path path;
        ~Dir() {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
    };
    static const Dir dir = [&] {
        std::error_code ec;
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : std::filesystem::temp_directory_path();
        Dir d{base / ("layerwise_fuzz_" + std::string(harness) + "_" + std::to_string(::getpid()))};
        std::filesystem::create_directories(d.path);
        return d;
    }();
    return dir.path;
}

// Harness failures (not findings in the library): stop loudly.
[[noreturn]] inline void die(const char* what, const std::filesystem::path& file) {
    std::fprintf(stderr, "fuzz harness: %s %s\n", what, file.c_str());
    std::abort();
}

inline void write_file(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size) {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (f == nullptr || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) die("cannot write", file);
}

// The bytes gzip-compressed (level 1: fast), so that the reader sees a valid gzip stream
// whose contents are the fuzzer's bytes.
inline void write_gzip(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size) {
    gzFile gz = gzopen(file.c_str(), "wb1");
    if (gz == nullptr) die("cannot gzopen", file);
    if (size > 0 && gzwrite(gz, data, unsigned(size)) != int(size)) die("cannot gzwrite", file);
    if (gzclose(gz) != Z_OK) die("cannot gzclose", file);
}

}  // namespace fuzz
