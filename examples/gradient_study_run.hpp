// examples/gradient_study_run.hpp — how gradient_study trains one run of config C: the network
// initialised and set up as the run's settings say, the optimizer they choose, the recorder,
// the per-epoch training state (a killed run goes on from its last epoch), then history.csv,
// keras_history.csv and run.json. Each config's translation unit (CMake writes them, see
// examples/CMakeLists.txt) includes this file and instantiates train_config<C> once.
#pragma once

#include "gradient_study.hpp"

#include <layerwise/io/atomic_file.hpp>
#include <layerwise/io/training_state.hpp>
#include <layerwise/study/keras_history.hpp>
#include <layerwise/study/runner.hpp>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

namespace gradient_study {

// run.json: what the run was (seed::describe), whether it diverged, and its seconds by phase.
// Written last: it marks the run finished.
inline std::string run_json(const Options& o, const layerwise::seed::Run& run, std::size_t parameters,
                            std::size_t train_inference, const layerwise::History& h,
                            const layerwise::PhaseTimes& times) {
    nlohmann::ordered_json meta = layerwise::seed::describe(run);
    meta.update({{"train_inference", train_inference}, {"epochs", o.epochs}, {"batch", o.batch},
                 {"dataset", o.dataset}, {"parameters", parameters}, {"diverged", nullptr}});
    if (h.divergence) meta["diverged"] = {{"epoch", h.divergence->epoch}, {"step", h.divergence->step}};
    for (const auto& [phase, secs] : times.phases()) meta["seconds"][phase] = secs;
    return meta.dump() + "\n";
}

template <layerwise::seed::Config C>
layerwise::PhaseTimes train_config(const RunContext& c) {
    using namespace layerwise;
    namespace fs = std::filesystem;
    const Options& o = c.options;
    const seed::Run& run = c.run;
    PhaseTimes times;
    seed::with_depth<C>(run.depth, [&]<class Net>() {
        auto net = std::make_unique<Net>();
        init(*net, run.seed, run.settings.init_plan(run.config));
        run.settings.apply(*net);
        AnyOptimizer<float> optimizer = run.settings.make_optimizer();
        io::TrainingCheckpoint checkpoint(c.dir / "state.npz", *net, optimizer);  // a killed attempt's, if any
        study::Recorder<Net> recorder(*net, c.probe.x, c.probe.y, c.dir, o.grad_every, checkpoint.resumed());
        if (const TrainingState* s = checkpoint.resumed()) {
            std::lock_guard lock(c.print);
            std::printf("  %-28s resuming after epoch %zu/%zu\n", run.name().c_str(), s->epochs_done, o.epochs);
            std::fflush(stdout);
        }
        FitDiagnostics diagnostics;
        diagnostics.inference_train_samples = std::min(o.train_inference, c.split.train.size());
        diagnostics.on_epoch_end = [&](const EpochRecord& r) {
            std::lock_guard lock(c.print);
            std::fputs(study::epoch_summary(run.name(), r, o.epochs).c_str(), stdout);
            std::fflush(stdout);
        };
        FitOptions settings{.epochs = o.epochs, .batch_size = o.batch, .seed = run.seed, .verbosity = Verbosity::quiet};
        settings.clip_norm = run.settings.clip_norm;
        const FitOptions fo = checkpoint.options(settings, [&] { return recorder.progress(); });
        const History h = fit(*net, optimizer, {c.split.train.images, c.split.train.labels},
                              {c.split.test.images, c.split.test.labels}, fo, recorder.diagnostics(diagnostics));
        recorder.write();
        times = h.times;
        times += recorder.times();
        auto timed = times.measure("files");
        io::write_file_atomically(c.dir / "history.csv", h.csv());
        io::write_file_atomically(c.dir / "keras_history.csv", study::keras_history_csv(h));
        fs::remove(c.dir / "state.npz");  // the finished run's folder holds its results only
        io::write_file_atomically(c.dir / "run.json", run_json(o, run, Net::parameter_count,
                                                              diagnostics.inference_train_samples, h, times));
    });
    return times;
}

}  // namespace gradient_study
