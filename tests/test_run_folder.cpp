#include "testing.hpp"

#include <layerwise/study/keras_history.hpp>
#include <layerwise/study/run_folder.hpp>
#include <layerwise/study/runner.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

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

TEST_CASE("a run that saved a state to resume from keeps its folder for the next attempt") {
    const TempDir out("run_folder");
    const fs::path incomplete = out.path / ".incomplete";
    fs::create_directories(incomplete / "bn-d10-s1.hostA.1");  // killed before its first epoch
    fs::create_directories(incomplete / "bn-d10-s1.hostB.2");  // killed after one
    write_file(incomplete / "bn-d10-s1.hostB.2" / "state.npz", "epoch 1");
    write_file(incomplete / "bn-d10-s1.hostB.2" / "events.out.tfevents.1.hostB", "events");
    study::RunFolder run(out.path, "bn-d10-s1");
    const fs::path tmp = run.begin("state.npz");
    CHECK(run.resumed());
    CHECK(tmp.filename().string().ends_with("." + std::to_string(getpid())));  // now this process's
    CHECK(read_file(tmp / "state.npz") == "epoch 1");
    CHECK(read_file(tmp / "events.out.tfevents.1.hostB") == "events");
    CHECK(!fs::exists(incomplete / "bn-d10-s1.hostA.1"));
    CHECK(!fs::exists(incomplete / "bn-d10-s1.hostB.2"));

    study::RunFolder fresh(out.path, "bn-d10-s1");  // without a file to resume from: starts again
    const fs::path again = fresh.begin();
    CHECK_FALSE(fresh.resumed());
    CHECK(fs::is_empty(again));
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

TEST_CASE("not_done keeps the runs that have no finished folder, in order") {
    const TempDir out("run_folder");
    const std::vector<std::string> names = {"a", "b", "c"};
    study::RunFolder done(out.path, "b");
    write_file(done.begin() / "run.json", "{}");
    done.commit();
    fs::create_directories(out.path / "c");  // started, never finished: no run.json
    CHECK(study::not_done(out.path, names, std::vector<std::size_t>{2, 1, 0}) == std::vector<std::size_t>{2, 0});
}

TEST_CASE("run_jobs trains each job into its own folder, several at a time, and sums their phases") {
    const TempDir out("run_jobs");
    std::vector<study::Job> jobs;
    for (const char* name : {"x", "y", "z"})
        jobs.push_back({name, [name](const fs::path& dir) {
                            write_file(dir / "run.json", name);
                            PhaseTimes t;
                            t.add("train_steps", 1.5);
                            return t;
                        }});
    std::mutex print;
    const study::RunsDone done = study::run_jobs("test", out.path, jobs, 2, print);
    CHECK_FALSE(done.failed);
    CHECK(done.finished == 3);
    CHECK(done.times.seconds("train_steps") == 4.5);
    CHECK(done.times.phases().size() == 2);  // and "other": the rest of each run's time
    for (const char* name : {"x", "y", "z"}) CHECK(read_file(out.path / name / "run.json") == name);
    const std::string summary = study::time_summary("test", done, 2, 1);
    CHECK(summary.starts_with("test: where the time went, summed over the runs (2 at a time, 1 thread each):\n"
                              "  phase train_steps            4.5 s  "));
    CHECK(summary.find("\ntest: run_seconds=") != std::string::npos);
}

TEST_CASE("after a job throws, run_jobs starts no other and leaves no folder for the failed run") {
    const TempDir out("run_jobs");
    std::atomic<int> started{0};
    std::vector<study::Job> jobs;
    for (const char* name : {"ok", "bad", "never", "never2"})
        jobs.push_back({name, [&, name = std::string(name)](const fs::path& dir) {
                            ++started;
                            if (name == "bad") throw std::runtime_error("the data is gone");
                            write_file(dir / "run.json", "{}");
                            return PhaseTimes{};
                        }});
    std::mutex print;
    const study::RunsDone done = study::run_jobs("test", out.path, jobs, 1, print);
    CHECK(done.failed);
    CHECK(started == 2);
    CHECK(study::RunFolder(out.path, "ok").done());
    CHECK_FALSE(fs::exists(out.path / "bad"));
    CHECK_FALSE(fs::exists(out.path / "never"));
}

TEST_CASE("parallel runs: the default, the shard's, and --jobs with --threads refused") {
    const study::Shard whole, one_of_four{1, 4, "--shard 2/4"};
    CHECK(study::parallel_runs(3, whole, 10) == 3);
    CHECK(study::parallel_runs(3, whole, 2) == 2);  // never more than the runs
    CHECK(study::parallel_runs(0, one_of_four, 10) == 1);
    CHECK(study::parallel_runs(0, whole, 1000) == available_cores());
    CHECK(study::threads_per_run(0) == 1);
    CHECK_NOTHROW(study::check_parallelism(1, 4));
    CHECK_THROWS_WITH_AS(study::check_parallelism(2, 2),
                         "--threads 2 with --jobs 2: parallel runs get one thread each (layerwise's thread pool serves "
                         "one run at a time); use --jobs 1 --threads N, or --jobs N",
                         std::invalid_argument);
    CHECK(study::share_summary("p", 10, 3, 1, one_of_four, "out") ==
          "p: 10 runs in the grid, 3 in shard 2/4, 2 already done, 1 to run -> out\np: shard from --shard 2/4\n");
}

TEST_CASE("keras_history_csv is what pandas writes for a Keras 2.1 History") {
    History h;
    h.epochs.push_back({1, 0.5, 0.8, 0.4, 0.85, 1.25});
    h.epochs.push_back({2, 0.25, 0.9, 0.3, 0.875, 1.5});
    CHECK(study::keras_history_csv(h) == ",acc,loss,val_acc,val_loss\n0,0.8,0.5,0.85,0.4\n1,0.9,0.25,0.875,0.3\n");
}
