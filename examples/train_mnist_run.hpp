// examples/train_mnist_run.hpp — how train_mnist trains config C: the network initialised and
// set up as the settings say, its summary, the optimizer, schedule and callbacks the options
// choose, the per-epoch training state (--resume goes on from it), then history.csv and
// model.npz. Each config's translation unit (CMake writes them, see examples/CMakeLists.txt)
// includes this file and instantiates train_config<C> once.
#pragma once

#include "train_mnist.hpp"

#include <layerwise/init.hpp>
#include <layerwise/io/keep_best.hpp>
#include <layerwise/io/npz.hpp>
#include <layerwise/io/training_state.hpp>
#include <layerwise/optim/any_optimizer.hpp>
#include <layerwise/summary.hpp>
#include <layerwise/train/callbacks.hpp>
#include <layerwise/train/fit.hpp>
#include <layerwise/train/schedule.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <vector>

namespace train_mnist {

// The callbacks the options ask for, watching --monitor; keep-best writes out/best.npz.
template <class Net>
std::vector<std::shared_ptr<layerwise::Callback>> make_callbacks(const Options& o, Net& net,
                                                              const std::filesystem::path& out) {
    using namespace layerwise;
    std::vector<std::shared_ptr<Callback>> callbacks;
    if (o.reduce_lr_on_plateau > 0)
        callbacks.push_back(std::make_shared<ReduceLROnPlateau>(o.monitor, o.reduce_lr_factor, o.reduce_lr_on_plateau));
    if (o.early_stopping > 0) callbacks.push_back(std::make_shared<EarlyStopping>(o.monitor, o.early_stopping));
    if (o.keep_best) callbacks.push_back(io::keep_best(out / "best.npz", net, o.monitor));
    return callbacks;
}

template <layerwise::seed::Config C>
int train_config(const Options& o, const layerwise::seed::Settings& settings, const layerwise::data::Split& split,
                 const std::filesystem::path& out) {
    using namespace layerwise;
    int status = 0;
    seed::with_depth<C>(o.depth, [&]<class Net>() {
        auto net = std::make_unique<Net>();  // parameters and workspaces: megabytes, so on the heap
        init(*net, o.seed, settings.init_plan(C));
        if (!o.quiet) summary(*net, std::cout, o.config + "_" + std::to_string(o.depth));
        FitOptions fo;
        fo.epochs = o.epochs;
        fo.batch_size = o.batch;
        fo.seed = o.seed;
        fo.schedule = parse_schedule(o.lr_schedule);
        fo.clip_norm = settings.clip_norm;
        fo.callbacks = make_callbacks(o, *net, out);
        if (o.quiet) fo.verbosity = Verbosity::quiet;
        FitDiagnostics diagnostics;
        diagnostics.inference_train_samples = std::min(o.train_inference, split.train.size());
        History history;
        diagnostics.on_epoch_end = [&](const EpochRecord& r) {  // keep a complete history.csv after every epoch
            history.epochs.push_back(r);
            history.write_csv(out / "history.csv");
        };
        settings.apply(*net);
        AnyOptimizer<float> optimizer = settings.make_optimizer();
        io::TrainingCheckpoint checkpoint(out / "state.npz", *net, optimizer, o.resume);
        if (const TrainingState* s = checkpoint.resumed()) {  // said even with --quiet
            history.epochs = s->epochs;
            std::cout << "resuming from " << checkpoint.file().string() << " after epoch " << s->epochs_done
                      << std::endl;
        } else if (o.resume) {
            std::cout << "no " << checkpoint.file().string() << " to resume from: starting at epoch 1\n";
        }
        const History result = fit(*net, optimizer, {split.train.images, split.train.labels},
                                   {split.test.images, split.test.labels}, checkpoint.options(fo), diagnostics);
        result.write_csv(out / "history.csv");
        io::save_npz(*net, out / "model.npz");
        if (!o.quiet)
            std::cout << "wrote " << (out / "history.csv").string() << ", " << (out / "model.npz").string()
                      << (o.keep_best ? ", " + (out / "best.npz").string() : std::string()) << " and "
                      << (out / "state.npz").string() << "\n";
        if (result.divergence) status = 3;
    });
    return status;
}

}  // namespace train_mnist
