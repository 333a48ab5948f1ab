// gradient_study — the seed study, in C++: trains the seed's MLPs (and the remedies' networks)
// at a range of depths, seeds and settings on MNIST and records, per run, the training history
// and the statistics of every layer's gradients, activations and backward error.
//
//   gradient_study --epochs 3 --out study                  (3 configs x depths 10..40, seed 1)
//   gradient_study --epochs 20 --seeds 1,2,3 --jobs 2      (the full study)
//   gradient_study --shard 2/8 ...    (one slice of the grid; default: the slice a Slurm array, srun or mpirun gives)
//   gradient_study --plan --shard 1/8 ...                  (print the 8 slices, run nothing)
//   gradient_study --depths 25:40:5 --seeds 1:3 --rmsprop-epsilon inside,outside --bn-debias off,on
//                                                          (one axis per suspected cause of the seed's collapse)
//   gradient_study --configs plain --init orthogonal --gain 1,1.41421 --lr 3e-4,1e-3 --optimizer rmsprop,adamw
//                                                          (remedies and step sizes are axes too)
// Then: scripts/study_report.py study   (figures and REPORT.md; several folders merge).
//
// Every run writes OUT/<config>-d<depth>-s<seed>[-<setting>]/ (seed_settings.hpp names it):
// history.csv, keras_history.csv, run.json and what study::Recorder records (gradients.csv,
// probe.csv, bn_stats.csv, a TensorBoard event file; examples/my_network_study.cpp does the same
// for a network of your own). A run is built in OUT/.incomplete/ (study::RunFolder) and renamed
// into place when complete, so a rerun skips finished runs; it saves its training state after
// every epoch, so a run killed or preempted goes on from its last completed epoch, with the
// bits of a run never stopped. The machinery is include/layerwise/study/; one run's training is
// gradient_study_run.hpp, compiled once per config in a translation unit of its own.
#include "gradient_study.hpp"
#include "options.hpp"

#include <layerwise/blas_runtime.hpp>
#include <layerwise/study/runner.hpp>
#include <layerwise/study/shard.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

using namespace layerwise;
using gradient_study::Options;
namespace fs = std::filesystem;

void add_options(CLI::App& app, Options& o) {
    seed::SettingsText& st = o.settings;
    app.add_option("--configs", o.configs, "comma-separated: bn, plain, skip, selu, layernorm, rezero");
    app.add_option("--depths", o.depths, "first:last:step or a list (compiled in: " + seed::available_depths() + ")");
    app.add_option("--seeds", o.seeds, "a list (1,2,3) or a range (1:5)");
    app.add_option("--numerics", st.numerics, "tf2, keras2.1 or both (tf2,keras2.1): a study axis of presets");
    app.add_option("--rmsprop-epsilon", st.rmsprop_epsilon, "inside, outside or both: overrides the preset's part");
    app.add_option("--bn-debias", st.bn_debias, "on, off or both (on,off): overrides the preset's part");
    app.add_option("--bn-momentum", st.bn_momentum, "BatchNorm momentum values, e.g. 0.99,0.9 (default 0.99)");
    app.add_option("--init", st.init, "kernel initialisers: glorot_uniform, he_uniform, he_normal, lecun_normal, orthogonal "
                   "(default: the config's, glorot_uniform; lecun_normal for selu)");
    app.add_option("--gain", st.gain, "gains on the initial kernels, e.g. 1,1.41421 (default 1)");
    app.add_option("--optimizer", st.optimizer, "optimizers: rmsprop (the seed's), adam, adamw, sgd (default rmsprop)");
    app.add_option("--lr", st.lr, "learning rates, e.g. 3e-4,1e-3,3e-3 (default: the optimizer's, 1e-3; sgd 0.01)");
    app.add_option("--momentum", st.momentum, "sgd's momentum values, e.g. 0.9 (default 0)");
    app.add_option("--clip-norm", st.clip_norm, "global gradient-norm clips, e.g. 0,1 (default 0: off)");
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
}

// The grid, from the command line's lists.
std::vector<seed::Run> grid(const Options& o) {
    const std::vector<std::size_t> depths = study::parse_numbers(o.depths, "--depths"),
                                   seeds = study::parse_numbers(o.seeds, "--seeds");
    for (std::size_t d : depths) seed::check_depth(d, "--depths:");
    return seed::run_grid(seed::settings_grid(o.settings), study::split_names(o.configs), depths, seeds);
}

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);  // re-executes with a fast OPENBLAS_CORETYPE if OpenBLAS chose a generic kernel
    Options o;
    CLI::App app{"The seed's gradient study: configs x depths x seeds on MNIST, with per-layer gradient statistics"};
    add_options(app, o);
    CLI11_PARSE(app, argc, argv);
    const char* me = "gradient_study";
    try {
        study::check_parallelism(o.jobs, o.threads);
        const std::vector<seed::Run> runs = grid(o);
        std::vector<std::string> names;
        for (const seed::Run& r : runs) names.push_back(r.name());
        const study::Shard shard =
            study::choose_shard(o.shard.empty() ? std::nullopt : std::optional(o.shard), study::process_environment());
        const std::vector<double> cost = seed::run_costs(runs, o.epochs);
        const std::vector<std::size_t> plan = study::plan_shards(cost, shard.count);
        if (o.plan) {
            std::printf("%s: plan of %zu runs in %zu shards (cost: parameters x epochs)\n%s", me, runs.size(),
                        shard.count, study::plan_table(plan, cost, names, shard.count).c_str());
            return 0;
        }
        const std::vector<std::size_t> mine = study::runs_of_shard(plan, cost, shard.index);
        const fs::path out = o.out;
        seed::check_output_folder(out, {});
        const std::vector<std::size_t> todo = study::not_done(out, names, mine);
        std::fputs(study::share_summary(me, runs.size(), mine.size(), todo.size(), shard, out).c_str(), stdout);
        std::fflush(stdout);
        if (todo.empty()) return 0;

        const data::Split split = seed::load_dataset(o.dataset, o.data);
        const study::ProbeBatch<float> probe(split.train.images, split.train.labels, o.probe);
        const std::size_t jobs = study::parallel_runs(o.jobs, shard, todo.size()),
                          threads = study::threads_per_run(o.threads);
        set_threads(threads);  // (and BLAS on one thread)
        std::fputs(study::parallelism_summary(me, jobs, threads).c_str(), stdout);
        std::fflush(stdout);
        std::mutex print;
        std::vector<study::Job> work;
        for (std::size_t k : todo)
            work.push_back({names[k],
                            [&, &run = runs[k]](const fs::path& dir) {
                                PhaseTimes times;
                                seed::with_config(run.config, [&]<seed::Config C>() {
                                    times = gradient_study::train_config<C>({o, run, split, probe, print, dir});
                                });
                                return times;
                            },
                            "state.npz"});
        const study::RunsDone done = study::run_jobs(me, out, work, jobs, print);
        if (done.failed) return 1;
        std::printf("%s%s: %zu runs in %.1f s. Figures and report: scripts/study_report.py %s\n",
                    study::time_summary(me, done, jobs, threads).c_str(), me, todo.size(), done.wall_seconds,
                    out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", me, e.what());
        return 2;
    }
    return 0;
}
