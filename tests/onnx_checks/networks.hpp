// The networks the ONNX tests export and import: every layer type of the library in one
// network (and the same without LayerNorm, which OpenCV 4.6's DNN module cannot run), with
// parameters and settings away from their defaults, so that a parameter or setting read into
// the wrong place shows in the outputs.
#pragma once

#include <layerwise/layerwise.hpp>

#include <random>
#include <type_traits>

namespace onnx_test {

using namespace layerwise;

/// Every layer type: Dense, BatchNorm, LayerNorm, the seven activations (GELU both ways),
/// Dropout, AlphaDropout, Residual, ReZero and Repeat, 16 features in, 10 out.
using Every = Sequential<Dense<16, 32>, BatchNorm<32>, ReLU, Dense<32, 32>, LayerNorm<32>, GELU,
                         Residual<Dense<32, 32>, Tanh>, ReZero<Dense<32, 32>, SELU>, Dropout<>, Dense<32, 32>, ELU,
                         AlphaDropout<>, Dense<32, 32>, LeakyReLU, Dense<32, 24>, Sigmoid,
                         Repeat<2, Dense<24, 24>, GELU>, Dense<24, 10>>;

/// Every but LayerNorm.
using EveryButLayerNorm = Sequential<Dense<16, 32>, BatchNorm<32>, ReLU, Dense<32, 32>, GELU,
                                     Residual<Dense<32, 32>, Tanh>, ReZero<Dense<32, 32>, SELU>, Dropout<>,
                                     Dense<32, 32>, ELU, AlphaDropout<>, Dense<32, 32>, LeakyReLU, Dense<32, 24>,
                                     Sigmoid, Repeat<2, Dense<24, 24>, GELU>, Dense<24, 10>>;

/// Initialises net from seed, then moves every setting and normalisation parameter away from
/// its default: gamma in [0.5, 1.5], beta, moving means and biases in [-0.5, 0.5], moving
/// variances in [0.5, 2], ReZero's alpha 0.5, epsilons 1e-4, ELU's alpha 0.7, LeakyReLU's
/// slope 0.2, and every GELU after the first with the tanh approximation.
template <class Net>
void randomize(Net& net, std::uint64_t seed) {
    init(net, seed);
    std::mt19937_64 rng(seed);
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        using T = std::remove_cvref_t<decltype(*value.data())>;
        double lo = 0, hi = 0;
        if (p.kind == "gamma") lo = 0.5, hi = 1.5;
        else if (p.kind == "beta" || p.kind == "moving_mean" || p.kind == "bias") lo = -0.5, hi = 0.5;
        else if (p.kind == "moving_variance") lo = 0.5, hi = 2.0;
        else if (p.kind == "alpha") lo = hi = 0.5;
        else return;
        for (std::size_t k = 0; k < value.size(); ++k) value.data()[k] = T(uniform(lo, hi));
    });
    int gelus = 0;
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.epsilon; }) layer.epsilon = 1e-4f;  // BatchNorm, LayerNorm
        if constexpr (requires { layer.fn; }) {
            using Fn = std::remove_cvref_t<decltype(layer.fn)>;
            if constexpr (std::is_same_v<Fn, elu_fn>) layer.fn.alpha = 0.7;
            if constexpr (std::is_same_v<Fn, leaky_relu_fn>) layer.fn.slope = 0.2;
            if constexpr (std::is_same_v<Fn, gelu_fn>) layer.fn.tanh_approximation = gelus++ > 0;
        }
    });
}

}  // namespace onnx_test
