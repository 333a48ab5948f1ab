// docs/guide.md, section 10 (Regularisation): Dropout and AlphaDropout (inverted scaling, the
// identity in inference, masks from the network's seed, hold_mask for a gradient check) and
// weight decay in the optimizers. Compiled and run as the test guide.regularisation.
#include "thirds.hpp"

#include <layerwise/core.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <utility>

using namespace layerwise;
using guide::require, guide::same_bits, guide::quiet;

namespace {
// The sum of the squares of every kernel.
template <class Net>
double kernel_squares(Net& net) {
    double sum = 0;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        if (p.kind == "kernel")
            for (float v : value) sum += double(v) * double(v);
    });
    return sum;
}
}  // namespace

int main() {
    const guide::Thirds data;
    const Samples<float> train_set = data.train(), val_set = data.val();

    // A Dropout drops each unit with probability rate (0.5 unless set) in train mode only.
    Dropout<> alone(0.2);  // on its own: the rate at construction
    using Net = Sequential<Dense<2, 64>, ReLU, Dropout<>, Dense<64, 64>, ReLU, Dropout<>, Dense<64, 3>>;
    Net net;               // in a network: each Dropout at 0.5, then set its rate
    net.layer<2>().rate = 0.2;
    net.layer<5>().rate = 0.2;
    init(net, 1);          // the network's seed also seeds each Dropout's masks

    // Train: y = x m / (1 - rate); inference: y = x.
    const Matrix<float> x = zeros<float>(256, 64) + 1.0f;
    alone.seed(7);
    const Matrix<float> y = alone.forward(x, Mode::train);
    const Matrix<float>& m = alone.mask();  // 0 or 1 per element
    bool inverted = true;
    double kept = 0;
    for (std::size_t k = 0; k < x.size(); ++k) {
        inverted = inverted && y.data()[k] == m.data()[k] / 0.8f;
        kept += m.data()[k];
    }
    std::printf("Dropout(0.2) kept %.3f of the units, each times 1 / 0.8\n", kept / double(x.size()));
    require(inverted && std::abs(kept / double(x.size()) - 0.8) < 0.01, "train mode: y = x m / (1 - rate)");
    require(same_bits(alone.forward(x, Mode::inference), x), "inference: y = x");

    // The masks depend on the seed alone: the same bits on one thread and on two.
    auto first_mask = [&](std::size_t threads) {
        set_threads(threads);
        Dropout<> d(0.2);
        d.seed(7);
        d.forward(x, Mode::train);
        set_threads(1);
        return d.mask();
    };
    require(same_bits(first_mask(1), first_mask(2)), "the same masks on one thread and on two");

    // Training with dropout: the same seed and thread count give the same bits.
    auto train = [&](Net& network) {
        RMSprop<float> optimizer(0.005f);
        const FitOptions options = quiet(10);
        return fit(network, optimizer, train_set, val_set, options);
    };
    Net twin;
    twin.layer<2>().rate = 0.2;
    twin.layer<5>().rate = 0.2;
    init(twin, 1);
    const History history = train(net), twin_history = train(twin);
    std::printf("with dropout: loss %.4f (train mode, units dropped), val_loss %.4f, val_accuracy %.3f\n",
                history.epochs.back().loss, history.epochs.back().val_loss, history.epochs.back().val_accuracy);
    require(history.epochs.back().val_accuracy > 0.9, "the network trains");
    bool same = same_bits(net.layer<6>().W, twin.layer<6>().W);
    for (std::size_t e = 0; e < history.epochs.size(); ++e)
        same = same && history.epochs[e].loss == twin_history.epochs[e].loss &&
               history.epochs[e].val_loss == twin_history.epochs[e].val_loss;
    require(same, "two runs from seed 1 give the same bits");

    // A gradient check needs one loss function of x: draw a mask, then hold it.
    Net::rebind<double> exact;  // rebind: every Dropout back at rate 0.5
    init(exact, 3);
    const Matrix<double> probe = zeros<double>(8, 2) + 0.3;
    exact.forward(probe, Mode::train);  // draws the masks
    exact.layer<2>().hold_mask = true;
    exact.layer<5>().hold_mask = true;
    std::cout << check_gradients(exact, probe);  // train mode, the held masks
    require_gradients_match(exact, probe, 1e-6);  // throws if a gradient is off
    std::printf("the held masks pass the gradient check\n");

    // AlphaDropout, for SELU networks: a dropped unit takes SELU's saturation value, and an affine
    // map keeps a standardised input's mean 0 and variance 1.
    AlphaDropout<> alpha_dropout(0.1);
    alpha_dropout.seed(1);
    Matrix<float> z = zeros<float>(512, 64);
    std::mt19937_64 rng(5);
    std::normal_distribution<float> standard(0.0f, 1.0f);
    for (float& v : z) v = standard(rng);
    const Matrix<float>& dropped = alpha_dropout.forward(z, Mode::train);
    double mean = 0, variance = 0;
    for (float v : dropped) mean += v / double(dropped.size());
    for (float v : dropped) variance += (v - mean) * (v - mean) / double(dropped.size());
    std::printf("AlphaDropout(0.1) of N(0, 1): mean %+.3f, variance %.3f\n", mean, variance);
    require(std::abs(mean) < 0.05 && std::abs(variance - 1) < 0.05, "AlphaDropout keeps mean 0 and variance 1");

    // Weight decay is the optimizer's: AdamW's decoupled p *= 1 - lr wd, or L2 (g + wd p) in the others.
    AdamW<float> adamw(0.003f, /*weight_decay=*/0.5f);  // PyTorch's default: 0.01
    AdamW<float> no_decay(0.003f, 0.0f);
    SGD<float> sgd(0.01f);
    sgd.weight_decay = 1e-4f;                            // SGD, RMSprop, Adam: g + wd p (0 by default)
    Net decayed, plain;
    init(decayed, 2);
    init(plain, 2);
    const FitOptions options = quiet(5);
    fit(decayed, adamw, train_set, val_set, options);
    fit(plain, no_decay, train_set, val_set, options);
    std::printf("sum of squared kernels after 5 epochs: %.1f with AdamW's decay 0.5, %.1f without\n",
                kernel_squares(decayed), kernel_squares(plain));
    require(kernel_squares(decayed) < kernel_squares(plain), "weight decay keeps the kernels smaller");
    fit(plain, sgd, train_set, val_set, options);
    return 0;
}
