#include "testing.hpp"

#include <layerwise/io/atomic_file.hpp>

#include <filesystem>
#include <stdexcept>

using namespace layerwise;
using layerwise::testing::read_file;
using layerwise::testing::TempDir;

TEST_CASE("write_file_atomically replaces the file and leaves no temporary") {
    const TempDir dir("atomic");
    const auto file = dir.path / "out.csv";  // a std::filesystem::path, as callers pass it
    io::write_file_atomically(file, "first\n");
    io::write_file_atomically(file, "second\n");
    CHECK(read_file(file) == "second\n");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator{}) == 1);
}

TEST_CASE("a writer that throws leaves the old file as it was and removes its temporary") {
    const TempDir dir("atomic");
    const std::string file = (dir.path / "out.csv").string();
    io::write_file_atomically(file, "kept\n");
    CHECK_THROWS_WITH_AS((void)io::replace_atomically(file, [](const std::string& tmp) {
                             layerwise::testing::write_file(tmp, "half");
                             throw std::runtime_error("disk full");
                         }),
                         "disk full", std::runtime_error);
    CHECK(read_file(file) == "kept\n");
    CHECK(!std::filesystem::exists(io::temporary_sibling(file)));
}

TEST_CASE("a failed rename is returned, names the reason, and removes the temporary") {
    const TempDir dir("atomic");
    const std::string target = (dir.path / "a_directory").string();
    std::filesystem::create_directory(target);
    std::filesystem::create_directory(target + "/not_empty");
    const std::error_code ec = io::replace_atomically(target, [](const std::string& tmp) {
        layerwise::testing::write_file(tmp, "x");  // a file cannot replace a directory
    });
    CHECK(ec);
    CHECK(!std::filesystem::exists(io::temporary_sibling(target)));
    CHECK_THROWS_WITH_AS(io::write_file_atomically(target, "x"),
                         doctest::Contains("a_directory: cannot rename the temporary file into place"),
                         std::runtime_error);
}

TEST_CASE("a file that cannot be created is an error naming it") {
    CHECK_THROWS_WITH_AS(io::write_file_atomically("/nonexistent-dir/out.csv", "x"),
                         doctest::Contains("/nonexistent-dir/out.csv: cannot create"), std::runtime_error);
}
