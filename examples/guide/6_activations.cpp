// docs/guide.md, section 9 (Activations and initialisers): ELU, LeakyReLU and GELU with their
// settings, a self-normalising SELU stack from LeCun-normal kernels, and an InitPlan that gives
// one layer its own scheme. Compiled and run as the test guide.activations.
#include "thirds.hpp"

#include <layerwise/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using namespace layerwise;
using guide::require, guide::quiet;

namespace {
// The mean and (biased) variance of every element of m.
std::pair<double, double> moments(const Matrix<float>& m) {
    double mean = 0, variance = 0;
    for (float v : m) mean += v;
    mean /= double(m.size());
    for (float v : m) variance += (v - mean) * (v - mean);
    return {mean, variance / double(m.size())};
}

// Each SELU layer's output statistics, from the input to the output.
template <class Net>
std::vector<std::pair<double, double>> selu_moments(Net& net) {
    std::vector<std::pair<double, double>> found;
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(layer)>, SELU>) found.push_back(moments(layer.output()));
    });
    return found;
}
}  // namespace

int main() {
    const guide::Thirds data;

    // An activation's settings are members of its function, fn.
    using Net = Sequential<Dense<2, 32>, ELU, Dense<32, 32>, LeakyReLU, Dense<32, 32>, GELU, Dense<32, 3>>;
    Net net;
    init(net, 1, KernelInit::he_uniform);
    net.layer_as_declared<1>().fn.alpha = 0.5;               // ELU: x if x > 0, else alpha (exp(x) - 1); 1 by default
    net.layer_as_declared<3>().fn.slope = 0.3;               // LeakyReLU: Keras' slope; PyTorch's 0.01 by default
    net.layer_as_declared<5>().fn.tanh_approximation = true; // GELU: PyTorch's approximate='tanh'; erf by default
    RMSprop<float> optimizer(0.01f);
    const FitOptions options = quiet(8);
    const History history = fit(net, optimizer, data.train(), data.val(), options);
    std::printf("ELU, LeakyReLU, GELU: validation accuracy %.3f\n", history.epochs.back().val_accuracy);
    require(history.epochs.back().val_accuracy > 0.9, "the network trains");

    // SELU is self-normalising with LeCun-normal kernels: through 32 layers the activations of a
    // standardised input keep mean ~0 and variance ~1, with no normalisation layer.
    using Selu = Sequential<Dense<64, 64>, SELU, Repeat<31, Dense<64, 64>, SELU>, Dense<64, 3>>;
    Selu selu;
    init(selu, 1, KernelInit::lecun_normal);
    Matrix<float> z = zeros<float>(1024, 64);
    std::mt19937_64 rng(5);
    std::normal_distribution<float> standard(0.0f, 1.0f);
    for (float& v : z) v = standard(rng);
    selu.forward(z, Mode::inference);
    const auto lecun = selu_moments(selu);  // 32 (mean, variance) pairs
    const std::size_t shown[] = {0, 7, 15, 31};
    for (std::size_t layer : shown)
        std::printf("lecun_normal: SELU %2zu: mean %+.3f, variance %.3f\n", layer + 1, lecun[layer].first,
                    lecun[layer].second);
    bool normalised = true;
    for (const auto& [mean, variance] : lecun) normalised = normalised && std::abs(mean) < 0.1 && std::abs(variance - 1) < 0.2;
    require(normalised, "every SELU layer keeps mean ~0 and variance ~1");
    init(selu, 1, KernelInit::he_normal);  // twice the variance: the stack settles elsewhere
    selu.forward(z, Mode::inference);
    const auto he = selu_moments(selu);
    std::printf("he_normal:    SELU 32: mean %+.3f, variance %.3f\n", he.back().first, he.back().second);

    // One layer's own scheme, by its name in the walk: the rest he_uniform, dense_2 orthogonal with gain sqrt 2.
    init(net, 1, InitPlan{KernelInit::he_uniform, 1.0, {{"dense_2", KernelInit::orthogonal, std::sqrt(2.0)}}});
    const Matrix<float>& w = net.layer<4>().W;  // dense_2: (32 x 32)
    double off = 0;                             // W^T W = gain^2 I
    for (std::size_t i = 0; i < 32; ++i)
        for (std::size_t j = 0; j < 32; ++j) {
            double dot = 0;
            for (std::size_t k = 0; k < 32; ++k) dot += double(w(k, i)) * double(w(k, j));
            off = std::max(off, std::abs(dot - (i == j ? 2.0 : 0.0)));
        }
    std::printf("dense_2: |W^T W - 2 I| <= %.1e\n", off);
    require(off < 1e-5, "dense_2 is orthogonal with gain sqrt 2");
    return 0;
}
