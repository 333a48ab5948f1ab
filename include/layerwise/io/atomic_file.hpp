// layerwise/io/atomic_file.hpp — results files that are either complete or absent.
//
// A file is written as "<file>.tmp-<pid>" in the same directory, closed, and only then
// renamed over <file> (rename is atomic within a file system). A run killed halfway
// leaves at most a stray temporary, never a half-written result. replace_atomically is
// the mechanism (checkpoints use it with their own writer); write_file_atomically is it
// for text.
//
// Paths are std::string (a std::filesystem::path converts to one implicitly): this header is
// reached from fit's History, and <filesystem> would add to the compile time of every
// translation unit that trains a network.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace layerwise::io {

/// The OS's reason for the last failed call (errno), for messages.
inline std::string os_reason() { return errno ? std::strerror(errno) : "unknown error"; }

/// The temporary file a write of `file` goes to first: "<file>.tmp-<pid>", beside it.
inline std::string temporary_sibling(const std::string& file) {
    return file + ".tmp-" + std::to_string(::getpid());
}

/// Replaces file as one step: write(tmp) creates the temporary sibling tmp, which is then
/// renamed over file. If write throws, or the rename fails, the temporary is removed and
/// file is left as it was; write's exception propagates, and the rename's error is returned
/// (empty on success) for the caller to report in its own terms.
template <class Write>
[[nodiscard]] std::error_code replace_atomically(const std::string& file, Write&& write) {
    const std::string tmp = temporary_sibling(file);
    struct RemoveUnlessRenamed {
        const std::string& path;
        bool renamed = false;
        ~RemoveUnlessRenamed() {
            if (!renamed) std::remove(path.c_str());
        }
    } guard{tmp};
    write(tmp);
    if (std::rename(tmp.c_str(), file.c_str()) != 0) return {errno, std::generic_category()};
    guard.renamed = true;
    return {};
}

/// Writes contents to file atomically; throws std::runtime_error naming the file on failure.
inline void write_file_atomically(const std::string& file, std::string_view contents) {
    const std::error_code ec = replace_atomically(file, [&](const std::string& tmp) {
        errno = 0;
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(file + ": cannot create " + tmp + ": " + os_reason());
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out) throw std::runtime_error(file + ": write failed: " + os_reason());
    });
    if (ec) throw std::runtime_error(file + ": cannot rename the temporary file into place: " + ec.message());
}

}  // namespace layerwise::io
