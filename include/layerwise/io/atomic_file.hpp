// layerwise/io/atomic_file.hpp — results files that are either complete or absent.
//
// Text goes to "<file>.tmp-<pid>" in the same directory, is flushed and closed, and only
// then renamed over <file> (rename is atomic within a file system). A run killed halfway
// leaves at most a stray temporary, never a half-written result.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

namespace layerwise::io {

inline std::filesystem::path temporary_sibling(const std::filesystem::path& file) {
    return file.string() + ".tmp-" + std::to_string(::getpid());
}

/// Writes contents to file atomically; throws std::runtime_error naming the file on failure.
inline void write_file_atomically(const std::filesystem::path& file, std::string_view contents) {
    const std::filesystem::path tmp = temporary_sibling(file);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(file.string() + ": cannot create " + tmp.string());
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            throw std::runtime_error(file.string() + ": write failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error(file.string() + ": cannot rename the temporary file into place");
    }
}

}  // namespace layerwise::io
