// layerwise/study/runner.hpp — running a shard's runs several at a time, each into a folder of
// its own, and saying what runs where and where the time went.
//
//   study::check_parallelism(jobs_option, threads_option);          // before anything is read
//   const std::size_t parallel = study::parallel_runs(jobs_option, shard, todo.size());
//   set_threads(study::threads_per_run(threads_option));
//   std::vector<study::Job> jobs = ...;   // a run's folder name, and train(dir) -> its PhaseTimes
//   std::mutex print;                     // also held by train while it prints
//   const study::RunsDone done = study::run_jobs("my_study", out, jobs, parallel, print);
//   if (!done.failed) std::fputs(study::time_summary("my_study", done, parallel, threads).c_str(), stdout);
//
// Each job trains into a fresh RunFolder(out, name) temporary, which is renamed into place
// when train returns (run_folder.hpp), so a killed study leaves no half-written run behind.
// Runs get one layerwise thread each unless asked otherwise, so that a run's numbers are the
// same bits however the study is launched (several at a time, shards, a cluster): they are
// reproducible per thread count, and OpenBLAS's own threads would change them too, so BLAS
// stays on one (set_threads).
#pragma once

#include "../blas_runtime.hpp"
#include "../parallel.hpp"
#include "../train/history.hpp"
#include "../train/phase_times.hpp"
#include "run_folder.hpp"
#include "shard.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace layerwise::study {

/// One run: the name of its folder, and what trains it into a folder and returns its phases.
struct Job {
    std::string name;
    std::function<PhaseTimes(const std::filesystem::path&)> train;
    /// A file the run saves in its folder after every epoch to resume from (io/training_state.hpp:
    /// "state.npz"): an attempt killed after an epoch leaves its folder to the next attempt,
    /// which goes on from there (RunFolder::begin). Empty: a killed run starts again.
    std::string resumable = {};
};

struct RunsDone {
    PhaseTimes times;         // summed over the finished runs; "other": a run's time outside its phases
    std::size_t finished = 0;
    double wall_seconds = 0;  // from the first start to the last end
    bool failed = false;      // a run threw; no run started after it
};

/// Throws std::invalid_argument for several runs at a time (--jobs) with several threads each
/// (--threads): layerwise's thread pool serves one run at a time.
inline void check_parallelism(std::size_t jobs, std::size_t threads) {
    if (jobs > 1 && threads > 1)
        throw std::invalid_argument("--threads " + std::to_string(threads) + " with --jobs " + std::to_string(jobs) +
                                    ": parallel runs get one thread each (layerwise's thread pool serves one run "
                                    "at a time); use --jobs 1 --threads N, or --jobs N");
}

/// How many runs to train at a time: `requested` (0: not given); else 1 in a shard of several
/// (its launcher may start several per machine); else one per available core; never more than
/// `runs`.
inline std::size_t parallel_runs(std::size_t requested, const Shard& shard, std::size_t runs) {
    return std::min(requested > 0 ? requested : shard.count > 1 ? 1 : available_cores(), runs);
}

/// Layerwise threads per run: `requested`, or 1 when not given (0).
inline std::size_t threads_per_run(std::size_t requested) { return std::max<std::size_t>(requested, 1); }

/// What this process runs, as two lines: "<program>: N runs in the grid, M in shard i/n, D
/// already done, T to run -> <out>" and "<program>: shard from <where the shard came from>".
inline std::string share_summary(std::string_view program, std::size_t grid, std::size_t in_shard, std::size_t todo,
                                 const Shard& shard, const std::filesystem::path& out) {
    const std::string who(program);
    char line[1024];
    std::snprintf(line, sizeof line, "%s: %zu runs in the grid, %zu in shard %zu/%zu, %zu already done, %zu to run -> %s\n",
                  who.c_str(), grid, in_shard, shard.index + 1, shard.count, in_shard - todo, todo, out.c_str());
    return line + who + ": shard from " + shard.source + "\n";
}

/// "<program>: J runs at a time, T layerwise threads and B BLAS threads each (C cores available)".
inline std::string parallelism_summary(std::string_view program, std::size_t parallel, std::size_t threads) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "%.*s: %zu run%s at a time, %zu layerwise thread%s and %d BLAS thread%s each (%zu cores available)\n",
                  int(program.size()), program.data(), parallel, parallel == 1 ? "" : "s", threads,
                  threads == 1 ? "" : "s", blas_threads(), blas_threads() == 1 ? "" : "s", available_cores());
    return line;
}

/// A line for a run's finished epoch (runs in parallel print theirs in turn):
///   "  bn-d10-s1   epoch 2/20  loss 0.1234  accuracy 0.9612  train_inference 0.9634  val_accuracy 0.9650  (3.2 s)"
inline std::string epoch_summary(const std::string& run, const EpochRecord& r, std::size_t epochs) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "  %-28s epoch %zu/%zu  loss %.4f  accuracy %.4f  train_inference %.4f  val_accuracy %.4f  (%.1f s)\n",
                  run.c_str(), r.epoch, epochs, r.loss, r.accuracy, r.train_accuracy_inference, r.val_accuracy,
                  r.seconds);
    return line;
}

/// Runs the jobs, `parallel` at a time (each on a thread of its own that takes the next job),
/// and prints "[k/n] <name> done in S s -> <folder>" as each finishes, holding `print`. When a
/// job throws, prints "<program>: run <name> failed: <what>" on stderr and starts no other job.
inline RunsDone run_jobs(std::string_view program, const std::filesystem::path& out, const std::vector<Job>& jobs,
                         std::size_t parallel, std::mutex& print) {
    using clock = std::chrono::steady_clock;
    RunsDone done;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    const auto t0 = clock::now();
    auto worker = [&] {
        for (std::size_t k; (k = next++) < jobs.size() && !failed;) {
            const Job& job = jobs[k];
            RunFolder folder(out, job.name);  // shards may share out: the run is ours alone
            const auto start = clock::now();
            PhaseTimes times;
            try {
                times = job.train(folder.begin(job.resumable));
                folder.commit();
            } catch (const std::exception& e) {
                std::lock_guard lock(print);
                std::fprintf(stderr, "%.*s: run %s failed: %s\n", int(program.size()), program.data(),
                             job.name.c_str(), e.what());
                failed = true;
                return;
            }
            const double secs = std::chrono::duration<double>(clock::now() - start).count();
            std::lock_guard lock(print);
            times.add("other", secs - times.total());  // building and initialising the network, committing
            done.times += times;
            std::printf("[%zu/%zu] %s done in %.1f s -> %s\n", ++done.finished, jobs.size(), job.name.c_str(), secs,
                        folder.final_path().c_str());
            std::fflush(stdout);
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t j = 0; j < parallel; ++j) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    done.failed = failed;
    done.wall_seconds = std::chrono::duration<double>(clock::now() - t0).count();
    return done;
}

/// Where the time went, as text: each phase summed over the runs and its share, then one
/// line of key=value pairs for scripts (run_seconds, wall_seconds, jobs, threads_per_run).
inline std::string time_summary(std::string_view program, const RunsDone& done, std::size_t parallel,
                                std::size_t threads_per_run) {
    const std::string who(program);
    const char* s = threads_per_run == 1 ? "" : "s";
    char line[256];
    std::snprintf(line, sizeof line, "%s: where the time went, summed over the runs (%zu at a time, %zu thread%s each):\n",
                  who.c_str(), parallel, threads_per_run, s);
    std::string out = line;
    const double total = done.times.total();
    for (const auto& [phase, secs] : done.times.phases()) {
        std::snprintf(line, sizeof line, "  phase %-16s %9.1f s  %5.1f%%\n", phase.c_str(), secs, 100 * secs / total);
        out += line;
    }
    std::snprintf(line, sizeof line, "%s: run_seconds=%.1f wall_seconds=%.1f jobs=%zu threads_per_run=%zu\n",
                  who.c_str(), total, done.wall_seconds, parallel, threads_per_run);
    return out + line;
}

}  // namespace layerwise::study
