// dump_remedies — a test helper for scripts/torch_crosscheck.py --remedies-helper: trains one
// small network built from the newer layers, in double, for a few steps of an optimizer with
// its schedule and clipping, and writes to one .npz what PyTorch needs to redo the steps and
// what we got (every member float64 unless said otherwise; S = 20 steps, B = 32, C = 4 classes):
//
//   config          (n,) uint8           UTF-8 "case=<name> steps=20 batch=32"
//   x               (S*B, 12)            the inputs: step t (from 1) sees rows [(t-1)*B, t*B)
//   labels          (S*B,) uint8         their classes (a random linear teacher's argmax)
//   params/<name>   (S+1, *shape)        every parameter: row 0 after init, row t after step t
//   grad/<name>     (S, *shape)          every parameter's gradient at each step, before clipping
//   logits          (S, B, C)            each step's logits (train mode)
//   loss            (S,)                 each step's mean loss
//   lr              (S,)                 the learning rate of each step (schedule x base)
//   norm            (S,)                 the gradients' global norm before clipping (clipping cases)
//   mask/<k>        (S, B, N) uint8      the k-th dropout layer's mask at each step (1: kept)
//
// The case "init" instead writes kernels drawn by each initialiser: orthogonal/tall (200 x
// 100), orthogonal/square (100 x 100), orthogonal/wide (100 x 300), all with gain sqrt 2, and
// glorot_uniform, he_uniform, he_normal, lecun_normal (400 x 300 each).
//
// The networks, optimizers, schedules and clipping norms are scripts/crosscheck_remedies.py's
// CASES, which names the parameters as visit.hpp does. --perturb MEMBER:REL: dump.hpp.
//
//   dump_remedies --case rezero-adam --out rezero-adam.npz
#include "dump.hpp"

#include <layerwise/compose/rezero.hpp>
#include <layerwise/compose/sequential.hpp>
#include <layerwise/init.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/dense.hpp>
#include <layerwise/layers/dropout.hpp>
#include <layerwise/layers/layer_norm.hpp>
#include <layerwise/loss/softmax_cross_entropy.hpp>
#include <layerwise/optim/adam.hpp>
#include <layerwise/optim/adamw.hpp>
#include <layerwise/optim/clip.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/optim/sgd.hpp>
#include <layerwise/train/schedule.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace layerwise;

namespace {

using T = double;
constexpr std::size_t steps = 20, batch = 32, features = 12, width = 16, classes = 4, steps_per_epoch = 5;

using D12 = Dense<features, width, T>;
using D16 = Dense<width, width, T>;
using Out = Dense<width, classes, T>;
using Relu = Activation<relu_fn, T>;
using Selu = Activation<selu_fn, T>;
using Elu = Activation<elu_fn, T>;
using Leaky = Activation<leaky_relu_fn, T>;
using Gelu = Activation<gelu_fn, T>;
using TanhT = Activation<tanh_fn, T>;
using SigmoidT = Activation<sigmoid_fn, T>;

// The data: x ~ N(0, 1), labels the argmax of x V for a random V (12 x 4).
struct Data {
    Matrix<T> x = zeros<T>(steps * batch, features);
    std::vector<int> labels = std::vector<int>(steps * batch);
    Data() {
        std::mt19937_64 rng(2024);
        for (T& v : x) v = normal01(rng);
        std::vector<double> teacher(features * classes);
        for (double& v : teacher) v = normal01(rng);
        for (std::size_t i = 0; i < steps * batch; ++i) {
            std::size_t best = 0;
            double top = -1e300;
            for (std::size_t c = 0; c < classes; ++c) {
                double z = 0;
                for (std::size_t j = 0; j < features; ++j) z += x(i, j) * teacher[j * classes + c];
                if (z > top) top = z, best = c;
            }
            labels[i] = static_cast<int>(best);
        }
    }
};

// Rows of values per name, one row per snapshot.
struct Rows {
    std::map<std::string, std::vector<T>> values;
    std::map<std::string, io::Shape> shapes;

    template <class V>
    void add(const std::string& name, const V& v) {
        auto& row = values[name];
        row.insert(row.end(), v.data(), v.data() + v.size());
        shapes[name] = io::Shape(v.shape().begin(), v.shape().end());
    }
    void write(crosscheck::Dump& dump, const std::string& prefix, std::size_t rows) const {
        for (const auto& [name, v] : values) {
            io::Shape shape{rows};
            shape.insert(shape.end(), shapes.at(name).begin(), shapes.at(name).end());
            dump.add(prefix + name, v.data(), shape);
        }
    }
};

// What a case trains with.
struct Recipe {
    InitPlan init = {};
    LearningRateSchedule schedule = {};
    double clip = 0;  // 0: no clipping
};

template <class Net, class Optimizer>
void train(const std::string& name, Net& net, Optimizer& opt, const Recipe& r, crosscheck::Dump& dump) {
    const Data data;
    dump.add("x", data.x.data(), {steps * batch, features});
    const std::vector<std::uint8_t> labels(data.labels.begin(), data.labels.end());
    dump.add("labels", labels.data(), {steps * batch});
    init(net, 1, r.init);
    const T base = opt.learning_rate;
    SoftmaxCrossEntropy<T> loss;
    Rows params, grads, masks;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) { params.add(std::string(p.name), value); });
    std::vector<T> logits, losses, rates, norms;
    Matrix<T> x = zeros<T>(batch, features);
    for (std::size_t t = 0; t < steps; ++t) {
        opt.learning_rate = static_cast<T>(base * r.schedule.factor(t, steps_per_epoch, steps));
        rates.push_back(opt.learning_rate);
        std::copy(data.x.data() + t * batch * features, data.x.data() + (t + 1) * batch * features, x.data());
        const Matrix<T>& z = net.forward(x, Mode::train);
        logits.insert(logits.end(), z.data(), z.data() + z.size());
        losses.push_back(loss.forward(z, std::span<const int>(data.labels).subspan(t * batch, batch)));
        net.backward(loss.backward());
        for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) { grads.add(std::string(p.name), grad); });
        std::size_t k = 0;
        for_each_layer(net, [&](auto& layer, const LayerInfo&) {
            if constexpr (requires { layer.mask(); }) {
                Matrix<std::uint8_t> m = zeros<std::uint8_t>(batch, layer.mask().shape(1));
                for (std::size_t e = 0; e < m.size(); ++e) m.data()[e] = layer.mask().data()[e] != T(0);
                masks.add(std::to_string(k++), m);
            }
        });
        if (r.clip > 0) norms.push_back(clip_gradient_norm(net, r.clip));
        opt.step(net);
        for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) { params.add(std::string(p.name), value); });
    }
    const std::string config = "case=" + name + " steps=" + std::to_string(steps) + " batch=" + std::to_string(batch);
    dump.add("config", reinterpret_cast<const std::uint8_t*>(config.data()), {config.size()});
    params.write(dump, "params/", steps + 1);
    grads.write(dump, "grad/", steps);
    for (const auto& [k, v] : masks.values) {
        io::Shape shape{steps};
        shape.insert(shape.end(), masks.shapes.at(k).begin(), masks.shapes.at(k).end());
        std::vector<std::uint8_t> bytes(v.begin(), v.end());
        dump.add("mask/" + k, bytes.data(), shape);
    }
    dump.add("logits", logits.data(), {steps, batch, classes});
    dump.add("loss", losses.data(), {steps});
    dump.add("lr", rates.data(), {steps});
    if (!norms.empty()) dump.add("norm", norms.data(), {steps});
}

void initialisers(crosscheck::Dump& dump) {
    const double gain = std::sqrt(2.0);
    Dense<200, 100, T> tall;
    Dense<100, 100, T> square;
    Dense<100, 300, T> wide;
    init(tall, 1, InitPlan{KernelInit::orthogonal, gain});
    init(square, 2, InitPlan{KernelInit::orthogonal, gain});
    init(wide, 3, InitPlan{KernelInit::orthogonal, gain});
    dump.add("orthogonal/tall", tall.W.data(), {200, 100});
    dump.add("orthogonal/square", square.W.data(), {100, 100});
    dump.add("orthogonal/wide", wide.W.data(), {100, 300});
    Dense<400, 300, T> big;
    std::uint64_t seed = 10;
    for (KernelInit k : {KernelInit::glorot_uniform, KernelInit::he_uniform, KernelInit::he_normal,
                         KernelInit::lecun_normal}) {
        init(big, seed++, k);
        dump.add(std::string(to_string(k)), big.W.data(), {400, 300});
    }
}

void run_case(const std::string& name, crosscheck::Dump& dump) {
    if (name == "init") return initialisers(dump);
    if (name == "layernorm-adamw") {
        Sequential<D12, LayerNorm<width, T>, Gelu, Dropout<T>, D16, LayerNorm<width, T>, Relu, Out> net;
        net.layer_as_declared<3>().rate = 0.25;
        net.layer_as_declared<5>().epsilon = 1e-5;
        AdamW<T> opt(1e-2, 0.05);
        return train(name, net, opt, {{KernelInit::glorot_uniform}, linear_warmup(5, cosine_decay(0.0))}, dump);
    }
    if (name == "selu-nesterov") {
        Sequential<D12, Selu, AlphaDropout<T>, D16, Selu, Out> net;
        net.layer_as_declared<2>().rate = 0.2;
        SGD<T> opt(0.05, 0.9, true);
        opt.weight_decay = 1e-3;
        return train(name, net, opt, {{KernelInit::lecun_normal}, {}, 0.5}, dump);
    }
    if (name == "rezero-adam") {
        Sequential<D12, Elu, ReZero<D16, Leaky, D16, Gelu>, Out> net;
        net.layer_as_declared<1>().fn.alpha = 0.7;
        net.layer_as_declared<2>().block.template layer_as_declared<1>().fn.slope = 0.05;
        net.layer_as_declared<2>().block.template layer_as_declared<3>().fn.tanh_approximation = true;
        Adam<T> opt(1e-2);
        opt.epsilon = 1e-16;
        opt.weight_decay = 1e-3;
        return train(name, net, opt, {{KernelInit::orthogonal, std::sqrt(2.0)}, step_decay(2, 0.5)}, dump);
    }
    if (name == "elu-rmsprop") {
        Sequential<D12, Elu, D16, Leaky, Out> net;
        RMSprop<T> opt(1e-2, RMSpropEpsilon::outside);
        opt.weight_decay = 1e-3;
        return train(name, net, opt, {{KernelInit::he_normal}}, dump);
    }
    if (name == "gelu-momentum") {
        Sequential<D12, Gelu, Dropout<T>, D16, TanhT, Out> net;
        SGD<T> opt(0.1, 0.9);
        return train(name, net, opt, {{KernelInit::he_uniform}, {}, 1.0}, dump);
    }
    if (name == "sigmoid-sgd-cosine") {
        Sequential<D12, SigmoidT, Out> net;
        SGD<T> opt(0.5);
        return train(name, net, opt, {{KernelInit::glorot_uniform}, cosine_decay(0.1)}, dump);
    }
    throw std::invalid_argument("--case: unknown case '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
    std::string name, out, perturb;
    CLI::App app{"Train one remedy network for a few steps and dump what scripts/torch_crosscheck.py compares"};
    app.add_option("--case", name, "layernorm-adamw, selu-nesterov, rezero-adam, elu-rmsprop, gelu-momentum, "
                                   "sigmoid-sgd-cosine or init")
        ->required();
    app.add_option("--out", out, "the .npz to write")->required();
    app.add_option("--perturb", perturb, "MEMBER:REL: write MEMBER multiplied by (1 + REL)");
    CLI11_PARSE(app, argc, argv);
    try {
        crosscheck::Dump dump(perturb);
        run_case(name, dump);
        dump.write(out);
    } catch (const std::exception& e) {
        std::cerr << "dump_remedies: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
