// docs/guide.md, section 8 (Normalisation): BatchNorm against LayerNorm, and ReZero blocks that
// train a deep stack without normalisation. Compiled and run as the test guide.normalisation.
#include "thirds.hpp"

#include <layerwise/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

using namespace layerwise;
using guide::require, guide::same_bits, guide::quiet;

namespace {
// The mean and biased variance of row i.
std::pair<double, double> row_moments(const Matrix<float>& m, std::size_t i) {
    const std::size_t n = m.shape(1);
    double mean = 0, variance = 0;
    for (std::size_t j = 0; j < n; ++j) mean += m(i, j);
    mean /= double(n);
    for (std::size_t j = 0; j < n; ++j) variance += (m(i, j) - mean) * (m(i, j) - mean);
    return {mean, variance / double(n)};
}

// Trains net as section 2 does (RMSprop, 8 epochs) and returns its last validation accuracy.
template <class Net>
double train(Net& net, const Samples<float>& train_set, const Samples<float>& val_set) {
    RMSprop<float> optimizer(0.01f);
    const FitOptions options = quiet(8);
    const History history = fit(net, optimizer, train_set, val_set, options);
    return history.epochs.back().val_accuracy;
}
}  // namespace

int main() {
    const guide::Thirds data;
    const Samples<float> train_set = data.train(), val_set = data.val();

    // BatchNorm normalises each feature over the batch; LayerNorm each sample over its features.
    using BnNet = Sequential<Dense<2, 32>, BatchNorm<32>, ReLU, Dense<32, 32>, BatchNorm<32>, ReLU, Dense<32, 3>>;
    using LnNet = Sequential<Dense<2, 32>, LayerNorm<32>, ReLU, Dense<32, 32>, LayerNorm<32>, ReLU, Dense<32, 3>>;
    BnNet bn;
    bn.layer_as_declared<1>().momentum = 0.9f;  // Keras' 0.99 by default; epsilon is Keras' 1e-3, fixed
    LnNet ln;
    ln.layer<1>().epsilon = 1e-5f;              // PyTorch's; Keras' 1e-3 by default
    ln.layer<4>().epsilon = 1e-5f;

    // At initialisation (gamma = 1, beta = 0) every row LayerNorm gives out has mean 0 and variance
    // var / (var + eps), var the row's own variance before it: ~1 unless the row is nearly constant.
    ln.forward(data.x_val, Mode::inference);
    const Matrix<float>& before = ln.layer<0>().output();     // Dense's output: (500 x 32)
    const Matrix<float>& normalised = ln.layer<1>().output();  // LayerNorm's
    double worst_mean = 0, worst_variance = 0;
    std::size_t nearly_constant = 0;
    for (std::size_t i = 0; i < normalised.shape(0); ++i) {
        const auto [mean, variance] = row_moments(normalised, i);
        const double var = row_moments(before, i).second;
        worst_mean = std::max(worst_mean, std::abs(mean));
        if (var < 100 * 1e-5) ++nearly_constant;  // a point near (0, 0): Dense gives about b = 0
        else worst_variance = std::max(worst_variance, std::abs(variance - 1));
    }
    std::printf("LayerNorm's rows: |mean| <= %.1e; |variance - 1| <= %.1e but in %zu nearly constant rows\n",
                worst_mean, worst_variance, nearly_constant);
    require(worst_mean < 1e-5 && worst_variance < 1e-2, "LayerNorm's rows have mean 0 and variance ~1");

    const double bn_accuracy = train(bn, train_set, val_set), ln_accuracy = train(ln, train_set, val_set);
    std::printf("validation accuracy: BatchNorm %.3f, LayerNorm %.3f\n", bn_accuracy, ln_accuracy);
    require(bn_accuracy > 0.9 && ln_accuracy > 0.9, "both train");

    // Train mode and inference differ for BatchNorm (batch against moving statistics), not for LayerNorm.
    const Matrix<float> bn_train = bn.forward(data.x_val, Mode::train);
    const Matrix<float> bn_inference = bn.forward(data.x_val, Mode::inference);
    const Matrix<float> ln_train = ln.forward(data.x_val, Mode::train);
    const Matrix<float> ln_inference = ln.forward(data.x_val, Mode::inference);
    require(!same_bits(bn_train, bn_inference), "BatchNorm's train and inference outputs differ");
    require(same_bits(ln_train, ln_inference), "LayerNorm's train and inference outputs are the same bits");

    // ReZero: y = x + alpha F(x) with alpha = 0 at initialisation: 16 blocks of two Dense layers,
    // 34 Dense layers in all, and no normalisation.
    using Deep = Sequential<Dense<2, 32>, ReLU,
                            Repeat<16, ReZero<Dense<32, 32>, ReLU, Dense<32, 32>, ReLU>>,
                            Dense<32, 3>>;
    Deep deep;
    init(deep, 1);

    // At construction every block is the identity: the net computes what it computes without them.
    Sequential<Dense<2, 32>, ReLU, Dense<32, 3>> shallow;
    shallow.layer<0>().W = deep.layer<0>().W;
    shallow.layer<0>().b = deep.layer<0>().b;
    shallow.layer<2>().W = deep.layer<3>().W;
    shallow.layer<2>().b = deep.layer<3>().b;
    const Matrix<float> deep_out = deep.forward(data.x_val, Mode::inference);
    const Matrix<float> shallow_out = shallow.forward(data.x_val, Mode::inference);
    require(same_bits(deep_out, shallow_out), "a ReZero net at construction equals the net without its blocks");

    const double deep_accuracy = train(deep, train_set, val_set);
    double largest_alpha = 0;
    for_each_parameter(deep, [&](const ParameterInfo& p, auto& value, auto&) {
        if (p.kind == "alpha") largest_alpha = std::max(largest_alpha, std::abs(double(value.data()[0])));
    });
    std::printf("ReZero, 34 Dense layers: validation accuracy %.3f, largest |alpha| %.3f\n", deep_accuracy,
                largest_alpha);
    require(deep_accuracy > 0.9 && largest_alpha > 0, "the ReZero stack trains, its alphas away from 0");

    // The same 34 Dense layers without the gates: the signal shrinks at every layer, and in 8 epochs
    // the stack learns nothing.
    using Plain = Sequential<Dense<2, 32>, ReLU, Repeat<32, Dense<32, 32>, ReLU>, Dense<32, 3>>;
    Plain plain;
    init(plain, 1);
    const double plain_accuracy = train(plain, train_set, val_set);
    std::printf("the same without the gates: validation accuracy %.3f\n", plain_accuracy);
    require(plain_accuracy < deep_accuracy, "the gates make the difference");
    return 0;
}
