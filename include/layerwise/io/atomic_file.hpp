// layerwise/io/atomic_file.hpp — results files that are either complete or absent.
//
// A file is written as "<file>.tmp-<pid>" in the same directory, closed, and only then
// renamed over <file> (rename is atomic within a file system). A run killed halfway
// leaves at most a stray temporary, never a half-written result. replace_atomically is
// the mechanism (checkpoints use it with their own writer); write_file_atomically is it
// for text.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace layerwise::io {

/// The OS's reason for the last failed call (errno), for messages.
inline std::string os_reason() { return errno ? std::strerror(errno) : "unknown error"; }

inline std::filesystem::path temporary_sibling(const std::filesystem::path& file) {
    return file.string() + ".tmp-" + std::to_string(::getpid());
}

/// Replaces file as one step: write(tmp) creates the temporary sibling tmp, which is then
/// renamed over file. If write throws, or the rename fails, the temporary is removed and
/// file is left as it was; write's exception propagates, and the rename's error is returned
/// (empty on success) for the caller to report in its own terms.
template <class Write>
[[nodiscard]] std::error_code replace_atomically(const std::filesystem::path& file, Write&& write) {
    const std::filesystem::path tmp = temporary_sibling(file);
    struct RemoveUnlessRenamed {
        const std::filesystem::path& path;
        bool renamed = false;
        ~RemoveUnlessRenamed() {
            std::error_code ignored;
            if (!renamed) std::filesystem::remove(path, ignored);
        }
    } guard{tmp};
    write(tmp);
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    guard.renamed = !ec;
    return ec;
}

/// Writes contents to file atomically; throws std::runtime_error naming the file on failure.
inline void write_file_atomically(const std::filesystem::path& file, std::string_view contents) {
    const std::error_code ec = replace_atomically(file, [&](const std::filesystem::path& tmp) {
        errno = 0;
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(file.string() + ": cannot create " + tmp.string() + ": " + os_reason());
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out) throw std::runtime_error(file.string() + ": write failed: " + os_reason());
    });
    if (ec) throw std::runtime_error(file.string() + ": cannot rename the temporary file into place: " + ec.message());
}

}  // namespace layerwise::io
