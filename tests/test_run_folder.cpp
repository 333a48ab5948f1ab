#include "testing.hpp"

#include <layerwise/study/run_folder.hpp>

#include <filesystem>

using namespace layerwise;
using layerwise::testing::read_file;
using layerwise::testing::TempDir;
using layerwise::testing::write_file;
namespace fs = std::filesystem;

TEST_CASE("a run is built in .incomplete and appears in OUT only when committed") {
    const TempDir out("run_folder");
    study::RunFolder run(out.path, "bn-d10-s1");
    CHECK_FALSE(run.done());
    const fs::path tmp = run.begin();
    CHECK(tmp.parent_path() == out.path / ".incomplete");
    CHECK(tmp.filename().string().starts_with("bn-d10-s1."));  // named by host and process too
    CHECK(tmp.filename().string().ends_with("." + std::to_string(getpid())));
    write_file(tmp / "run.json", "{}\n");
    CHECK_FALSE(run.done());
    CHECK_FALSE(fs::exists(out.path / "bn-d10-s1"));
    run.commit();
    CHECK(run.done());
    CHECK(read_file(out.path / "bn-d10-s1" / "run.json") == "{}\n");
    CHECK(fs::is_empty(out.path / ".incomplete"));
}

TEST_CASE("beginning a run deletes what killed attempts at it left, and nothing of other runs") {
    const TempDir out("run_folder");
    fs::create_directories(out.path / ".incomplete" / "bn-d10-s1.otherhost.123");
    fs::create_directories(out.path / ".incomplete" / "bn-d10-s1-keras2.1.otherhost.123");  // another run
    study::RunFolder run(out.path, "bn-d10-s1");
    run.begin();
    CHECK_FALSE(fs::exists(out.path / ".incomplete" / "bn-d10-s1.otherhost.123"));
    CHECK(fs::exists(out.path / ".incomplete" / "bn-d10-s1-keras2.1.otherhost.123"));
}

TEST_CASE("commit replaces an unfinished folder, and needs begin first") {
    const TempDir out("run_folder");
    fs::create_directories(out.path / "plain-d20-s2");
    write_file(out.path / "plain-d20-s2" / "history.csv", "half");  // no run.json: not done
    study::RunFolder run(out.path, "plain-d20-s2");
    CHECK_FALSE(run.done());
    CHECK_THROWS_AS(run.commit(), std::logic_error);
    write_file(run.begin() / "run.json", "{}");
    run.commit();
    CHECK(run.done());
    CHECK_FALSE(fs::exists(out.path / "plain-d20-s2" / "history.csv"));
}
