// gradient_study — the seed study, in C++: trains the seed's three MLPs at a range of
// depths (and seeds, and framework numerics) on MNIST and records, per run, the training
// history and the statistics of every layer's gradients, activations and backward error.
//
//   gradient_study --epochs 3 --out study                  (3 configs x depths 10..40, seed 1)
//   gradient_study --epochs 20 --seeds 1,2,3 --jobs 2      (the full study)
//   gradient_study --shard 2/8 ...                         (one slice of the grid; without --shard, the
//                                                          slice a Slurm array, srun or mpirun gives)
//   gradient_study --plan --shard 1/8 ...                  (print the 8 slices, run nothing)
//   gradient_study --depths 25:40:5 --seeds 1:3 --rmsprop-epsilon inside,outside --bn-debias off,on
//                                                          (one axis per suspected cause of the seed's collapse)
// Then: scripts/study_report.py study   (figures and REPORT.md; several folders merge).
//
// Every run writes OUT/<config>-d<depth>-s<seed>[-<setting>]/ (seed_settings.hpp names the
// setting): history.csv, keras_history.csv, run.json, and what study::Recorder records
// (gradients.csv, probe.csv, bn_stats.csv for BatchNorm configs, a TensorBoard event file;
// examples/my_network_study.cpp does the same for a network of your own). A run is built in
// OUT/.incomplete/ (study::RunFolder) and renamed into place when complete, so a rerun skips
// finished runs and redoes a killed one from scratch. The machinery is include/layerwise/study/;
// this program is the seed's configuration and the command line.
#include "options.hpp"
#include "seed_settings.hpp"

#include <layerwise/blas_runtime.hpp>
#include <layerwise/data/mnist.hpp>
#include <layerwise/init.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/io/atomic_file.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/study/grid.hpp>
#include <layerwise/study/recorder.hpp>
#include <layerwise/study/run_folder.hpp>
#include <layerwise/study/shard.hpp>
#include <layerwise/summary.hpp>
#include <layerwise/train/fit.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <thread>


using namespace layerwise;
namespace fs = std::filesystem;

struct Options {
    std::string configs = "bn,plain,skip";
    std::string depths = "10:40:5";
    std::string seeds = "1";
    std::string numerics = "tf2";
    std::string rmsprop_epsilon, bn_debias, bn_momentum, init;  // lists; empty: as the preset / Keras' default
    std::size_t epochs = 20, batch = 128, jobs = 0, threads = 0, grad_every = 0, probe = 1024, train_inference = 10000;
    std::string dataset = "mnist", data, out = "study", shard;  // shard empty: from the launcher, or all
    bool plan = false;
};

struct Run {
    seed::Config config;
    std::size_t depth;
    std::uint64_t seed;
    seed::Settings settings;
    std::string name() const {
        const std::string label = settings.label();
        return std::string(seed::config_names[int(config)]) + "-d" + std::to_string(depth) + "-s" + std::to_string(seed) +
               (label == "tf2" ? "" : "-" + label);
    }
};

// The settings axis: every combination of the listed values, each distinct setting once, in order.
std::vector<seed::Settings> settings_grid(const Options& o) {
    std::vector<seed::Settings> out;
    for (const std::string& n : study::split_names(o.numerics))
        for (const std::string& e : study::split_names(o.rmsprop_epsilon))
            for (const std::string& d : study::split_names(o.bn_debias))
                for (const std::string& m : study::split_names(o.bn_momentum))
                    for (const std::string& i : study::split_names(o.init)) {
                        const seed::Settings s = seed::make_settings(n, e, d, m, i);
                        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
                    }
    return out;
}

std::string keras_history_csv(const History& h) {
    std::ostringstream out;  // pandas.DataFrame(history.history).to_csv(), as the seed writes it
    out << ",acc,loss,val_acc,val_loss\n";
    char line[160];
    for (std::size_t i = 0; i < h.epochs.size(); ++i) {
        const EpochRecord& e = h.epochs[i];
        std::snprintf(line, sizeof line, "%zu,%.9g,%.9g,%.9g,%.9g\n", i, e.accuracy, e.loss, e.val_accuracy, e.val_loss);
        out << line;
    }
    return out.str();
}

struct Study {
    Options o;
    data::Split split;
    Matrix<float> probe_x;
    std::vector<int> probe_y;
    std::mutex print;

    // Trains one run into dir; returns the seconds of its phases (fit's, the recorder's, files).
    template <class Net>
    PhaseTimes train(const Run& run, const fs::path& dir) {
        auto net = std::make_unique<Net>();
        init(*net, run.seed, run.settings.init);
        run.settings.apply(*net);
        RMSprop<float> optimizer;
        run.settings.apply(optimizer);
        study::Recorder<Net> recorder(*net, probe_x, probe_y, dir, o.grad_every);

        FitOptions fo;
        fo.epochs = o.epochs;
        fo.batch_size = o.batch;
        fo.seed = run.seed;
        fo.verbosity = Verbosity::quiet;
        FitDiagnostics diagnostics;
        diagnostics.inference_train_samples = std::min(o.train_inference, split.train.size());
        diagnostics.on_epoch_end = [&](const EpochRecord& r) {
            std::lock_guard lock(print);
            std::printf("  %-28s epoch %zu/%zu  loss %.4f  accuracy %.4f  train_inference %.4f  val_accuracy %.4f  (%.1f s)\n",
                        run.name().c_str(), r.epoch, o.epochs, r.loss, r.accuracy, r.train_accuracy_inference,
                        r.val_accuracy, r.seconds);
            std::fflush(stdout);
        };
        const History h = fit(*net, optimizer, {split.train.images, split.train.labels},
                              {split.test.images, split.test.labels}, fo, recorder.diagnostics(diagnostics));
        recorder.write();
        PhaseTimes times = h.times;
        times += recorder.times();
        auto timed = times.measure("files");
        io::write_file_atomically(dir / "history.csv", h.csv());
        io::write_file_atomically(dir / "keras_history.csv", keras_history_csv(h));
        const seed::Settings& st = run.settings;
        nlohmann::ordered_json meta = {
            {"config", seed::config_names[int(run.config)]},
            {"depth", run.depth},
            {"seed", run.seed},
            {"setting", st.label()},
            {"numerics", st.preset()},
            {"rmsprop_epsilon", to_string(st.numerics.rmsprop_epsilon)},
            {"bn_debias", st.numerics.bn_debias},
            {"bn_momentum", st.bn_momentum},
            {"init", to_string(st.init)},
            {"train_inference", diagnostics.inference_train_samples},
            {"epochs", o.epochs},
            {"batch", o.batch},
            {"dataset", o.dataset},
            {"parameters", Net::parameter_count},
            {"diverged", nullptr}};
        if (h.divergence) meta["diverged"] = {{"epoch", h.divergence->epoch}, {"step", h.divergence->step}};
        nlohmann::ordered_json seconds;
        for (const auto& [phase, secs] : times.phases()) seconds[phase] = secs;
        meta["seconds"] = seconds;  // by phase, the files up to here included
        io::write_file_atomically(dir / "run.json", meta.dump() + "\n");  // written last: marks the run finished
        return times;
    }
};

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);  // re-executes with a fast OPENBLAS_CORETYPE if OpenBLAS chose a generic kernel
    Options o;
    CLI::App app{"The seed's gradient study: configs x depths x seeds on MNIST, with per-layer gradient statistics"};
    app.add_option("--configs", o.configs, "comma-separated: bn, plain, skip");
    app.add_option("--depths", o.depths, "first:last:step or a list (compiled in: " + seed::available_depths() + ")");
    app.add_option("--seeds", o.seeds, "a list (1,2,3) or a range (1:5)");
    app.add_option("--numerics", o.numerics, "tf2, keras2.1 or both (tf2,keras2.1): a study axis of presets");
    app.add_option("--rmsprop-epsilon", o.rmsprop_epsilon, "inside, outside or both: overrides the preset's part");
    app.add_option("--bn-debias", o.bn_debias, "on, off or both (on,off): overrides the preset's part");
    app.add_option("--bn-momentum", o.bn_momentum, "BatchNorm momentum values, e.g. 0.99,0.9 (default 0.99)");
    app.add_option("--init", o.init, "kernel initialisers: glorot_uniform (default), he_uniform, he_normal");
    app.add_option("--train-inference", o.train_inference,
                   "after each epoch, evaluate this many training images in inference mode (0: off)");
    app.add_option("--epochs", o.epochs, "epochs per run")->check(seed::whole_number(1));
    app.add_option("--batch", o.batch, "mini-batch size (at least 2: BatchNorm needs two samples)")
        ->check(seed::whole_number(2));
    app.add_option("--grad-every", o.grad_every, "also record statistics of the live batch every K steps (0: off)");
    app.add_option("--probe", o.probe, "size of the fixed probe batch (the first N training images)")
        ->check(seed::whole_number(2, 60000));
    app.add_option("--dataset", o.dataset, "mnist or fashion")->check(CLI::IsMember({"mnist", "fashion"}));
    app.add_option("--data", o.data, "folder with the IDX files (default: data/mnist, or Debian's Fashion-MNIST)");
    app.add_option("--out", o.out, "study folder");
    app.add_option("--jobs", o.jobs,
                   "runs in parallel, each on one thread (default: one per available core; 1 in a shard, whose "
                   "launcher may start several per machine)")
        ->check(seed::whole_number(1, static_cast<long long>(available_cores())));
    app.add_option("--threads", o.threads,
                   "layerwise threads per run, with --jobs 1 (default 1: the same bits however the study is launched; "
                   "the numbers are reproducible per thread count)")
        ->check(seed::whole_number(1, static_cast<long long>(max_threads)));
    app.add_option("--shard", o.shard,
                   "i/n: run only the i-th of n slices of the grid (1-based). Default: the slice of a Slurm array "
                   "task, an srun task or an mpirun rank, else the whole grid");
    app.add_flag("--plan", o.plan, "print every shard's runs and estimated cost, and run nothing");
    CLI11_PARSE(app, argc, argv);

    try {
        if (o.jobs > 1 && o.threads > 1)
            throw std::invalid_argument("--threads " + std::to_string(o.threads) + " with --jobs " +
                                        std::to_string(o.jobs) +
                                        ": parallel runs get one thread each (layerwise's thread pool serves one run "
                                        "at a time); use --jobs 1 --threads N, or --jobs N");
        const std::vector<std::size_t> depths = study::parse_numbers(o.depths, "--depths"),
                                       seeds = study::parse_numbers(o.seeds, "--seeds");
        for (std::size_t d : depths) seed::check_depth(d, "--depths:");
        std::vector<Run> runs;
        for (const seed::Settings& st : settings_grid(o))
            for (const std::string& c : study::split_names(o.configs))
                for (std::size_t d : depths)
                    for (std::size_t s : seeds) {
                        Run run{seed::parse_config(c), d, s, st};
                        if (run.config == seed::Config::plain) {  // no BatchNorm: its settings do not apply
                            run.settings.numerics.bn_debias = false;
                            run.settings.bn_momentum = 0.99;
                        }
                        if (std::none_of(runs.begin(), runs.end(), [&](const Run& r) { return r.name() == run.name(); }))
                            runs.push_back(run);
                    }
        const study::Shard shard =
            study::choose_shard(o.shard.empty() ? std::nullopt : std::optional(o.shard), study::process_environment());
        // Cost of a run: trainable parameters x epochs (a step's work is proportional to the
        // parameters, and every run sees the same samples per epoch).
        std::map<std::pair<int, std::size_t>, double> trainable;
        std::vector<double> costs;
        for (const Run& r : runs) {
            const auto found = trainable.try_emplace({int(r.config), r.depth}, 0.0);  // no structured binding:
            double& params = found.first->second;  // clang 14 cannot capture one in a lambda
            if (found.second)
                seed::with_seed_network(r.config, r.depth, [&]<class Net>() {
                    params = double(count_parameters(*std::make_unique<Net>()).trainable);
                });
            costs.push_back(params * double(o.epochs));
        }
        const std::vector<std::size_t> plan = study::plan_shards(costs, shard.count);
        if (o.plan) {
            std::vector<double> load(shard.count, 0.0);
            for (std::size_t k = 0; k < runs.size(); ++k) load[plan[k]] += costs[k];
            const double mean = std::accumulate(load.begin(), load.end(), 0.0) / double(shard.count);
            std::printf("gradient_study: plan of %zu runs in %zu shards (cost: trainable parameters x epochs)\n",
                        runs.size(), shard.count);
            for (std::size_t s = 0; s < shard.count; ++s) {
                std::printf("shard %zu/%zu: cost %.3g (%.2f x the mean):", s + 1, shard.count, load[s], load[s] / mean);
                for (std::size_t k = 0; k < runs.size(); ++k)
                    if (plan[k] == s) std::printf(" %s", runs[k].name().c_str());
                std::printf("\n");
            }
            return 0;
        }
        std::vector<std::size_t> mine;  // this shard's runs (indices into runs), the costliest first, so that
        for (std::size_t k = 0; k < runs.size(); ++k)  // --jobs does not end on one long run while the others idle
            if (plan[k] == shard.index) mine.push_back(k);
        std::stable_sort(mine.begin(), mine.end(), [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
        const fs::path out = o.out;
        seed::check_output_folder(out, {});
        std::vector<Run> todo;
        for (std::size_t k : mine)
            if (!study::RunFolder(out, runs[k].name()).done()) todo.push_back(runs[k]);
        std::printf("gradient_study: %zu runs in the grid, %zu in shard %zu/%zu, %zu already done, %zu to run -> %s\n",
                    runs.size(), mine.size(), shard.index + 1, shard.count, mine.size() - todo.size(), todo.size(),
                    out.c_str());
        std::printf("gradient_study: shard from %s\n", shard.source.c_str());
        std::fflush(stdout);
        if (todo.empty()) return 0;

        Study study{o, seed::load_dataset(o.dataset, o.data), {}, {}, {}};
        const std::size_t p = std::min(o.probe, study.split.train.size());
        study.probe_x = zeros<float>(p, 784);
        std::copy(study.split.train.images.data(), study.split.train.images.data() + p * 784, study.probe_x.data());
        study.probe_y.assign(study.split.train.labels.begin(), study.split.train.labels.begin() + long(p));
        // One thread per run unless --threads says otherwise, so that a run's numbers are the same
        // bits however the study is launched (--jobs, shards, a cluster): they are reproducible per
        // thread count, and OpenBLAS's own threads change them too, so BLAS stays on one.
        const std::size_t jobs = std::min(o.jobs > 0 ? o.jobs : shard.count > 1 ? 1 : available_cores(), todo.size()),
                          threads_per_run = std::max<std::size_t>(o.threads, 1);
        set_threads(threads_per_run);  // (and BLAS on one thread)
        std::printf("gradient_study: %zu run%s at a time, %zu layerwise thread%s and %d BLAS thread%s each (%zu cores "
                    "available)\n", jobs, jobs == 1 ? "" : "s", threads_per_run, threads_per_run == 1 ? "" : "s",
                    blas_threads(), blas_threads() == 1 ? "" : "s", available_cores());
        std::fflush(stdout);

        std::atomic<std::size_t> next{0}, finished{0};
        std::atomic<bool> failed{false};
        PhaseTimes all_times;  // summed over the runs (under study.print)
        const auto t0 = std::chrono::steady_clock::now();
        auto worker = [&] {
            for (std::size_t k; (k = next++) < todo.size() && !failed;) {
                const Run& run = todo[k];
                study::RunFolder folder(out, run.name());  // shards may share out: the run is ours alone
                const fs::path tmp = folder.begin();
                const auto start = std::chrono::steady_clock::now();
                PhaseTimes times;
                try {
                    seed::with_seed_network(run.config, run.depth, [&]<class Net>() { times = study.train<Net>(run, tmp); });
                    folder.commit();
                } catch (const std::exception& e) {
                    std::lock_guard lock(study.print);
                    std::fprintf(stderr, "gradient_study: run %s failed: %s\n", run.name().c_str(), e.what());
                    failed = true;
                    return;
                }
                const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                std::lock_guard lock(study.print);
                times.add("other", secs - times.total());  // building and initialising the network, committing
                all_times += times;
                std::printf("[%zu/%zu] %s done in %.1f s -> %s\n", ++finished, todo.size(), run.name().c_str(), secs,
                            folder.final_path().c_str());
                std::fflush(stdout);
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t j = 0; j < jobs; ++j) pool.emplace_back(worker);
        for (auto& t : pool) t.join();
        if (failed) return 1;
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("gradient_study: where the time went, summed over the runs (%zu at a time, %zu thread%s each):\n",
                    jobs, threads_per_run, threads_per_run == 1 ? "" : "s");
        for (const auto& [phase, secs] : all_times.phases())
            std::printf("  phase %-16s %9.1f s  %5.1f%%\n", phase.c_str(), secs, 100 * secs / all_times.total());
        std::printf("gradient_study: run_seconds=%.1f wall_seconds=%.1f jobs=%zu threads_per_run=%zu\n",
                    all_times.total(), wall, jobs, threads_per_run);
        std::printf("gradient_study: %zu runs in %.1f s. Figures and report: scripts/study_report.py %s\n", todo.size(),
                    wall, out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gradient_study: %s\n", e.what());
        return 2;
    }
    return 0;
}
