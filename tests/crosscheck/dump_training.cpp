// dump_training — a test helper for scripts/torch_crosscheck.py: trains one of the seed's
// networks for a few RMSprop steps and writes to one .npz what PyTorch needs to redo each
// step and what we got (every member float32 unless said otherwise; S = steps, B = batch):
//
//   config          (n,) uint8           UTF-8 "config=bn depth=10 numerics=tf2 steps=20 batch=128 seed=1"
//   x               (S*B, 784)           the inputs: step t (from 1) sees rows [(t-1)*B, t*B)
//   labels          (S*B,) uint8         their classes
//   params/<name>   (S+1, *shape)        every parameter, moving statistics included: row 0 after
//                                        init(net, seed), row t after step t
//   loss            (S,)                 the mean loss of each step
//   logits          (B, 10)              the logits of step 1 (train mode)
//   grad/<name>     (*shape)             every trainable parameter's gradient of step 1
//   relu_masks      (S, relus, B, 16) uint8   y > 0 for every ReLU output y (B x 128) of every
//                                        step, input to output, each row packed 8 to a byte, first
//                                        element in the highest bit (numpy.unpackbits(m, axis=-1))
//
// <name> is the Keras name ("dense_3/kernel", "batch_normalization/moving_mean"). The
// batches are the first S*B training images of --data, unshuffled.
//
// --perturb MEMBER:REL (dump.hpp) multiplies one member by (1 + REL) as it is written, to show
// that the cross-check catches a wrong gradient (grad/dense_3/kernel:1e-3), moving statistic
// or parameter.
//
//   dump_training --config bn --depth 10 --numerics tf2 --data DIR --out bn-10-tf2.npz
#include "dump.hpp"

#include <layerwise/compose/unfused.hpp>
#include <layerwise/data/mnist.hpp>
#include <layerwise/init.hpp>
#include <layerwise/io/npy.hpp>
#include <layerwise/io/zip.hpp>
#include <layerwise/loss/softmax_cross_entropy.hpp>
#include <layerwise/models/seed_mlp.hpp>
#include <layerwise/optim/keras_presets.hpp>
#include <layerwise/optim/rmsprop.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using namespace layerwise;

struct Options {
    std::string config = "bn", numerics = "tf2", data, out, perturb;
    std::size_t depth = 10, steps = 20, batch = 128;
    std::uint64_t seed = 1;
};

// Every parameter's values over the steps: one row per snapshot.
struct Trajectory {
    std::map<std::string, std::vector<float>> values;
    std::map<std::string, io::Shape> shapes;
    std::size_t rows = 0;

    template <class Net>
    void snapshot(Net& net) {
        for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
            std::vector<float>& v = values[std::string(p.name)];
            v.insert(v.end(), value.data(), value.data() + value.size());
            shapes[std::string(p.name)] = io::Shape(value.shape().begin(), value.shape().end());
        });
        ++rows;
    }
};

// Appends, for every ReLU of net, its last output's mask y > 0, packed as numpy.packbits does.
template <class Net>
std::size_t append_relu_masks(Net& net, std::vector<std::uint8_t>& masks) {
    std::size_t relus = 0;
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { std::remove_cvref_t<decltype(layer)>::function_name; }) {
            if (layer.function_name != "relu") return;
            const auto& y = layer.output();
            for (std::size_t i = 0; i < y.shape(0); ++i) {
                std::vector<std::uint8_t> row((y.shape(1) + 7) / 8, 0);
                for (std::size_t j = 0; j < y.shape(1); ++j)
                    if (y(i, j) > 0) row[j / 8] |= std::uint8_t(0x80u >> (j % 8));
                masks.insert(masks.end(), row.begin(), row.end());
            }
            ++relus;
        }
    });
    return relus;
}

template <class Net>
void run(const Options& o, KerasNumerics numerics, const data::Dataset& train) {
    const std::size_t S = o.steps, B = o.batch, n = S * B, features = data::image_pixels;
    if (train.size() < n)
        throw std::invalid_argument(o.data + ": " + std::to_string(train.size()) + " training images, --steps " +
                                    std::to_string(S) + " x --batch " + std::to_string(B) + " needs " +
                                    std::to_string(n));
    crosscheck::Dump dump(o.perturb);
    const std::string config = "config=" + o.config + " depth=" + std::to_string(o.depth) + " numerics=" + o.numerics +
                               " steps=" + std::to_string(S) + " batch=" + std::to_string(B) +
                               " seed=" + std::to_string(o.seed);
    dump.add("config", reinterpret_cast<const std::uint8_t*>(config.data()), {config.size()});
    dump.add("x", train.images.data(), {n, features});
    const std::vector<std::uint8_t> labels(train.labels.begin(), train.labels.begin() + std::ptrdiff_t(n));
    dump.add("labels", labels.data(), {n});

    auto net = std::make_unique<Net>();  // parameters and workspaces: megabytes, so on the heap
    init(*net, o.seed);
    RMSprop<float> opt(1e-3f);
    use_keras_numerics(numerics, *net, opt);
    SoftmaxCrossEntropy<float> loss;
    Trajectory params;
    params.snapshot(*net);

    // The network as trained stores each BatchNorm+ReLU pair as one layer, whose ReLU forms no
    // output of its own; the masks come from the same forward in its unfused twin (same bits).
    auto twin = std::make_unique<unfused_t<Net>>();
    Matrix<float> x = zeros<float>(B, features);
    std::vector<float> losses;
    std::vector<std::uint8_t> masks;
    std::size_t relus = 0;
    for (std::size_t t = 0; t < S; ++t) {
        std::copy(train.images.data() + t * B * features, train.images.data() + (t + 1) * B * features, x.data());
        const auto& logits = net->forward(x, Mode::train);
        losses.push_back(loss.forward(logits, std::span<const int>(train.labels).subspan(t * B, B)));
        net->backward(loss.backward());
        copy_parameters(*net, *twin);  // (the moving statistics after this step's forward: not used)
        twin->forward(x, Mode::train);
        relus = append_relu_masks(*twin, masks);
        if (t == 0) {
            dump.add("logits", logits.data(), {B, logits.shape(1)});
            for_each_parameter(*net, [&](const ParameterInfo& p, auto&, auto& grad) {
                if (p.trainable)
                    dump.add("grad/" + std::string(p.name), grad.data(), {grad.shape().begin(), grad.shape().end()});
            });
        }
        opt.step(*net);
        params.snapshot(*net);
    }
    dump.add("loss", losses.data(), {S});
    for (const auto& [name, values] : params.values) {
        io::Shape shape{params.rows};
        shape.insert(shape.end(), params.shapes[name].begin(), params.shapes[name].end());
        dump.add("params/" + name, values.data(), shape);
    }
    const io::Shape mask_shape{S, relus, B, (seed::hidden_width + 7) / 8};
    if (masks.size() != io::element_count(mask_shape)) throw std::logic_error("a ReLU is not hidden_width wide");
    dump.add("relu_masks", masks.data(), mask_shape);
    dump.write(o.out);
}

// Calls run<Net> for the seed network of this config at depth 10 or 40 (the only ones compiled in).
template <std::size_t Depth>
void run_config(const Options& o, KerasNumerics numerics, const data::Dataset& train) {
    if (o.config == "bn") run<seed::BnMlp<Depth>>(o, numerics, train);
    else if (o.config == "plain") run<seed::PlainMlp<Depth>>(o, numerics, train);
    else run<seed::SkipMlp<Depth>>(o, numerics, train);
}

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"Train a seed network for a few RMSprop steps and dump what scripts/torch_crosscheck.py compares"};
    app.add_option("--config", o.config, "bn, plain or skip")->check(CLI::IsMember({"bn", "plain", "skip"}));
    app.add_option("--depth", o.depth, "10 or 40")->check(CLI::IsMember(std::vector<std::size_t>{10, 40}));
    app.add_option("--numerics", o.numerics, "tf2 or keras2.1")->check(CLI::IsMember({"tf2", "keras2.1"}));
    app.add_option("--data", o.data, "folder with the four MNIST-shaped IDX files")->required();
    app.add_option("--steps", o.steps, "RMSprop steps")->check(CLI::PositiveNumber);
    app.add_option("--batch", o.batch, "mini-batch size")->check(CLI::PositiveNumber);
    app.add_option("--seed", o.seed, "seed of init()");
    app.add_option("--out", o.out, "the .npz to write")->required();
    app.add_option("--perturb", o.perturb, "MEMBER:REL: write MEMBER multiplied by (1 + REL)");
    CLI11_PARSE(app, argc, argv);
    try {
        const data::Split split = data::load_mnist(o.data);
        const KerasNumerics numerics = keras_numerics(parse_keras_version(o.numerics));
        if (o.depth == 10) run_config<10>(o, numerics, split.train);
        else run_config<40>(o, numerics, split.train);
    } catch (const std::exception& e) {
        std::cerr << "dump_training: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
