// train_mnist — trains one of the seed's MLPs on MNIST (or Fashion-MNIST), as the seed's
// Keras notebook does with model.fit, and writes history.csv and model.npz. After every epoch
// it saves state.npz (the network, the optimizer and where training stands), so that a run
// killed or preempted goes on with --resume from its last completed epoch, with the bits of a
// run that never stopped.
//
//   train_mnist --config bn --depth 10 --epochs 5
//   train_mnist --config plain --depth 40 --numerics keras2.1 --out runs/plain40
//   train_mnist --config bn --depth 35 --bn-debias on --bn-momentum 0.9 --init he_uniform
//   train_mnist --config bn --depth 10 --epochs 20 --out runs/bn10 --resume   (after a kill: goes on)
//   train_mnist --config rezero --depth 50 --optimizer adamw --weight-decay 0.05 --clip-norm 1
//               --lr-schedule warmup:500+cosine --early-stopping 3 --keep-best   (one command)
#include "options.hpp"
#include "train_mnist.hpp"

#include <layerwise/blas_runtime.hpp>
#include <layerwise/parallel.hpp>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

using namespace layerwise;
using train_mnist::Options;
namespace fs = std::filesystem;

// The settings the options choose (seed_settings.hpp): the numerics, BatchNorm, initialiser,
// optimizer and clipping; a setting that does not apply to the optimizer is refused.
seed::Settings settings_of(const Options& o) {
    seed::SettingsText text;
    text.numerics = o.numerics;
    text.rmsprop_epsilon = o.rmsprop_epsilon;
    text.bn_debias = o.bn_debias;
    text.bn_momentum = o.bn_momentum;
    text.init = o.init;
    text.gain = o.gain;
    seed::Settings s = seed::make_settings(text);
    if (!o.rmsprop_epsilon.empty() && o.optimizer != "rmsprop")
        throw std::invalid_argument("--rmsprop-epsilon applies to --optimizer rmsprop only, not " + o.optimizer);
    if (o.momentum && o.optimizer != "sgd")
        throw std::invalid_argument("--momentum and --nesterov apply to --optimizer sgd only, not " + o.optimizer);
    s.optimizer = {.name = o.optimizer,
                   .learning_rate = o.lr > 0 ? std::optional(o.lr) : std::nullopt,
                   .momentum = o.momentum.value_or(0),
                   .nesterov = o.nesterov,
                   .weight_decay = o.weight_decay};
    s.optimizer.check();
    s.clip_norm = o.clip_norm;
    return s;
}

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);  // re-executes with a fast OPENBLAS_CORETYPE if OpenBLAS chose a generic kernel
    Options o;
    CLI::App app{"Train one of the seed study's MLPs on MNIST and write history.csv and model.npz"};
    app.add_option("--config", o.config,
                   "bn (Dense+BatchNorm+ReLU), plain (Dense+ReLU), skip (BN + residual every two layers), selu "
                   "(Dense+SELU, LeCun-normal), layernorm (Dense+LayerNorm+ReLU) or rezero (Dense+ReLU pairs in "
                   "x + alpha F(x), alpha from 0)")
        ->check(CLI::IsMember({"bn", "plain", "skip", "selu", "layernorm", "rezero"}));
    app.add_option("--depth", o.depth, "the seed's N_LAYERS: N - 1 hidden layers plus the output (" +
                                           seed::available_depths() + ")")
        ->check(seed::compiled_depth());
    app.add_option("--epochs", o.epochs, "epochs")->check(seed::whole_number(1));
    app.add_option("--batch", o.batch, "mini-batch size (at least 2: BatchNorm needs two samples)")
        ->check(seed::whole_number(2));
    app.add_option("--optimizer", o.optimizer,
                   "rmsprop (the seed's; Keras' defaults), adam (TF's), adamw (PyTorch's, decoupled weight decay) "
                   "or sgd (plain, --momentum, --nesterov)")
        ->check(CLI::IsMember({"rmsprop", "adam", "adamw", "sgd"}));
    app.add_option("--lr", o.lr, "learning rate (default: the optimizer's)")->check(CLI::NonNegativeNumber);
    app.add_option("--momentum", o.momentum, "sgd's momentum in [0, 1) (default 0: plain)")
        ->check(seed::fraction());
    app.add_flag("--nesterov", o.nesterov, "sgd with Nesterov's momentum");
    app.add_option("--weight-decay", o.weight_decay,
                   "weight decay: decoupled for adamw (p *= 1 - lr wd; default 0.01), L2 added to the gradient "
                   "for the others (g + wd p; default 0)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--clip-norm", o.clip_norm, "clip the gradients to this global 2-norm before every step (0: off)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--lr-schedule", o.lr_schedule,
                   "the learning rate's factor by step: constant, step:EPOCHS:GAMMA, cosine, cosine:MIN, or "
                   "warmup:STEPS+ one of those")
        ->check(seed::schedule());
    app.add_option("--monitor", o.monitor,
                   "the metric --early-stopping, --reduce-lr-on-plateau and --keep-best watch: val_loss, "
                   "val_accuracy, loss or accuracy")
        ->check(CLI::IsMember({"val_loss", "val_accuracy", "loss", "accuracy"}));
    app.add_option("--early-stopping", o.early_stopping,
                   "stop after this many epochs without improvement of --monitor (0: off)")
        ->check(seed::whole_number(0));
    app.add_option("--reduce-lr-on-plateau", o.reduce_lr_on_plateau,
                   "multiply the learning rate by --reduce-lr-factor after this many epochs without improvement "
                   "(0: off)")
        ->check(seed::whole_number(0));
    app.add_option("--reduce-lr-factor", o.reduce_lr_factor, "the factor of --reduce-lr-on-plateau, in (0, 1)")
        ->check(seed::fraction(false));
    app.add_flag("--keep-best", o.keep_best, "write OUT/best.npz after every epoch that improves --monitor");
    app.add_option("--seed", o.seed, "seed for initialisation and shuffling");
    app.add_option("--dataset", o.dataset, "mnist or fashion")->check(CLI::IsMember({"mnist", "fashion"}));
    app.add_option("--data", o.data, "folder with the four IDX files (default: data/mnist, or Debian's Fashion-MNIST)");
    app.add_option("--out", o.out, "output folder (default: runs/<config>-d<depth>-s<seed>)");
    app.add_option("--numerics", o.numerics, "tf2 (the seed's TF2 Keras) or keras2.1 (Keras 2.1.5)")
        ->check(CLI::IsMember({"tf2", "keras2.1"}));
    app.add_option("--rmsprop-epsilon", o.rmsprop_epsilon, "inside or outside RMSprop's root (default: as --numerics)")
        ->check(CLI::IsMember({"inside", "outside"}));
    app.add_option("--bn-debias", o.bn_debias, "on or off: zero-debiased BatchNorm averages (default: as --numerics)")
        ->check(CLI::IsMember({"on", "off"}));
    app.add_option("--bn-momentum", o.bn_momentum, "BatchNorm's moving-average momentum in [0, 1) (default 0.99)")
        ->check(seed::fraction());
    app.add_option("--init", o.init,
                   "kernel initialiser: glorot_uniform, he_uniform, he_normal, lecun_normal or orthogonal (default: "
                   "the config's: Keras' glorot_uniform, lecun_normal for selu)")
        ->check(CLI::IsMember({"glorot_uniform", "he_uniform", "he_normal", "lecun_normal", "orthogonal"}));
    app.add_option("--gain", o.gain, "a gain on every initial kernel, e.g. 1.41421 for orthogonal ReLU nets (default 1)")
        ->check(CLI::PositiveNumber);
    app.add_option("--train-inference", o.train_inference,
                   "after each epoch, evaluate this many training images in inference mode (0: off)");
    app.add_flag("--quiet", o.quiet, "print nothing while training (a resumed run still says so)");
    app.add_flag("--resume", o.resume,
                 "go on from OUT/state.npz (saved after every epoch) if a stopped run left one; the same options "
                 "as that run, and the result is the bits of a run that never stopped");
    app.add_option("--threads", o.threads, "threads (results are deterministic for a given count)")
        ->check(seed::whole_number(1, max_threads));
    CLI11_PARSE(app, argc, argv);

    int status = 0;
    set_threads(o.threads);
    try {
        const seed::Config config = seed::parse_config(o.config);
        const seed::Settings settings = seed::make_run(config, o.depth, o.seed, settings_of(o)).settings;
        const fs::path out = o.out.empty() ? fs::path("runs") / (o.config + "-d" + std::to_string(o.depth) + "-s" +
                                                                 std::to_string(o.seed))
                                           : fs::path(o.out);
        seed::check_output_folder(out, {"history.csv", "model.npz", "state.npz", "best.npz"});
        const data::Split split = seed::load_dataset(o.dataset, o.data);
        fs::create_directories(out);

        seed::with_config(config, [&]<seed::Config C>() { status = train_mnist::train_config<C>(o, settings, split, out); });
    } catch (const std::exception& e) {
        std::cerr << "train_mnist: " << e.what() << "\n";
        return 2;
    }
    return status;
}
