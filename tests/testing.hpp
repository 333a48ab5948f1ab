// Helpers shared by the tests: random matrices, the gradient-check assertion, temporary
// directories, whole-file reads and writes, and running a command.
#pragma once

#include <doctest/doctest.h>
#include <layerwise/gradient_check.hpp>
#include <layerwise/init.hpp>

#include <unistd.h>  // getpid

#include <sys/wait.h>  // WIFEXITED

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace layerwise::testing {

/// A (rows x cols) matrix of uniform numbers in [lo, hi), reproducible from seed.
template <class T = double>
Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = -1, double hi = 1) {
    std::mt19937_64 rng(seed);
    Matrix<T> m = Matrix<T>::from_shape({rows, cols});
    for (auto& v : m) v = static_cast<T>(lo + (hi - lo) * uniform01(rng));
    return m;
}

/// Runs check_gradients and requires every tensor's relative error below tolerance,
/// naming the worst tensor when it fails.
template <class L>
void require_gradients(L& layer, const Matrix<typename L::scalar_type>& x, Mode mode = Mode::train,
                       double tolerance = 1e-6) {
    const GradientCheck check = check_gradients(layer, x, mode);
    std::ostringstream report;
    for (const auto& t : check.tensors) report << t.name << ": " << t.relative_error << " over " << t.checked << "\n";
    INFO(report.str());
    REQUIRE(check.tensors.size() >= 1);
    for (const auto& t : check.tensors) CHECK(t.checked > 0);
    CHECK(check.worst() < tolerance);
}

/// A fresh, empty directory under the system's temporary directory, named for the test
/// (tag), the process and a counter; removed with everything in it when the object goes.
struct TempDir {
    std::filesystem::path path;

    explicit TempDir(const std::string& tag) {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("layerwise_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::filesystem::path operator/(const std::string& name) const { return path / name; }

    /// The names of what is in the directory (files and directories, not recursive).
    std::set<std::string> entries() const {
        std::set<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(path)) names.insert(e.path().filename().string());
        return names;
    }
};

/// The whole of a file, as bytes.
inline std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Creates or replaces file with exactly these bytes.
inline void write_file(const std::filesystem::path& file, std::string_view bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// What a shell command printed (stdout and whatever it redirects there) and its exit
/// status (-1 if it did not exit normally).
struct CommandResult {
    int status = -1;
    std::string output;
};

inline CommandResult run_command(const std::string& command) {
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << command);
    CommandResult r;
    char buffer[4096];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) r.output.append(buffer, n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace layerwise::testing
