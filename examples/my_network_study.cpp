// my_network_study — the gradient study's recorder on a network of your own: a 12-layer
// MLP whose middle is three residual blocks and whose BatchNorms sit after the skip sum.
// It trains on MNIST and writes, like gradient_study, per-layer gradient and activation
// statistics after every epoch, BatchNorm's moving-vs-batch distances, the probe batch in
// both modes and a TensorBoard event file:
//
//   ./build/examples/my_network_study --epochs 3 --out my_study
//   tensorboard --logdir my_study          (or: pandas.read_csv("my_study/gradients.csv"))
//
// The recorder is three lines in main(); everything else is the network and the data.
#include <layerwise/blas_runtime.hpp>
#include <layerwise/core.hpp>
#include <layerwise/data/mnist.hpp>
#include <layerwise/study/recorder.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

using namespace layerwise;

// Your network: any layers layerwise has, composed as you like.
using Block = Sequential<Residual<Dense<96, 96>, BatchNorm<96>, ReLU, Dense<96, 96>>, BatchNorm<96>, ReLU>;
using MyNet = Sequential<Dense<784, 96>, BatchNorm<96>, ReLU, Repeat<3, Block>, Dense<96, 10>>;

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);
    std::size_t epochs = 3, probe = 512, live_every = 0;
    std::string data_dir = "data/mnist", out = "my_study";
    CLI::App app{"Records the gradients of a user-defined network while it trains on MNIST"};
    app.add_option("--epochs", epochs, "epochs")->check(CLI::Range(1, 1000));
    app.add_option("--probe", probe, "size of the fixed probe batch (the first N training images)")->check(CLI::Range(2, 60000));
    app.add_option("--live-every", live_every, "also record the training batch every K steps (0: off)");
    app.add_option("--data", data_dir, "folder with MNIST's IDX files");
    app.add_option("--out", out, "folder for the recorded files");
    CLI11_PARSE(app, argc, argv);
    try {
        const data::Split split = data::load_mnist(data_dir);
        const study::ProbeBatch<float> probe_batch(split.train.images, split.train.labels, probe);
        std::filesystem::create_directories(out);

        auto net = std::make_unique<MyNet>();
        init(*net, /*seed=*/1);
        RMSprop<float> optimizer;
        FitOptions options;
        options.epochs = epochs;

        study::Recorder<MyNet> recorder(*net, probe_batch.x, probe_batch.y, out, live_every);  // records the net at init
        const History history = fit(*net, optimizer, {split.train.images, split.train.labels},
                                    {split.test.images, split.test.labels}, options,
                                    recorder.diagnostics());                        // ... and after every epoch
        recorder.write();                                                           // gradients.csv, probe.csv, bn_stats.csv
        history.write_csv((std::filesystem::path(out) / "history.csv").string());
        std::printf("my_network_study: %zu epochs recorded in %s (gradients.csv, bn_stats.csv, probe.csv, events)\n",
                    history.epochs.size(), out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "my_network_study: %s\n", e.what());
        return 1;
    }
    return 0;
}
