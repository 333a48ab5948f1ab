// layerwise/models/seed_mlp.hpp — the three MLPs of the seed study (Rasool, "Exploding and
// Vanishing Gradient Demo", Keras), width 128, for MNIST-shaped input (784 -> 10).
//
// The seed's depth N (its N_LAYERS) counts N - 1 hidden layers plus the output layer:
//   bn     Dense+BatchNorm+ReLU, N - 1 times, then Dense(10)
//   plain  Dense+ReLU, N - 1 times, then Dense(10)                         (no BatchNorm)
//   skip   Dense+BatchNorm+ReLU, then floor((N-1)/2) pairs of
//          [Dense+BatchNorm+ReLU, then x + BatchNorm(Dense(x)) and ReLU],   then Dense(10)
// and three seed-style networks for the remedies the literature proposes, the same width and depth:
//   selu       Dense+SELU, N - 1 times, then Dense(10): self-normalising (Klambauer et al. 2017),
//              to be initialised LeCun-normal (default_kernel_init), no normalisation layer
//   layernorm  Dense+LayerNorm+ReLU, N - 1 times, then Dense(10)
//   rezero     Dense+ReLU, then floor((N-1)/2) blocks x + alpha F(x) with F = [Dense+ReLU, Dense+ReLU]
//              and alpha from 0 (Bachlechner et al. 2020): skip's residual every two layers,
//              without normalisation
// The output layer gives logits; SoftmaxCrossEntropy applies the softmax.
#pragma once

#include "../compose/repeat.hpp"
#include "../compose/residual.hpp"
#include "../compose/rezero.hpp"
#include "../compose/sequential.hpp"
#include "../init.hpp"
#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/dense.hpp"
#include "../layers/layer_norm.hpp"

#include <string_view>

namespace layerwise::seed {

/// The seed's widths: 784 pixels in, 128 in each hidden layer, 10 classes out.
///@{
inline constexpr std::size_t input_width = 784, hidden_width = 128, classes = 10;
///@}

/// bn: Dense+BatchNorm+ReLU, Depth - 1 times, then Dense(10).
template <std::size_t Depth>
using BnMlp = Sequential<Dense<input_width, hidden_width>, BatchNorm<hidden_width>, ReLU,
                         Repeat<Depth - 2, Dense<hidden_width, hidden_width>, BatchNorm<hidden_width>, ReLU>,
                         Dense<hidden_width, classes>>;

/// plain: Dense+ReLU, Depth - 1 times, then Dense(10).
template <std::size_t Depth>
using PlainMlp = Sequential<Dense<input_width, hidden_width>, ReLU,
                            Repeat<Depth - 2, Dense<hidden_width, hidden_width>, ReLU>,
                            Dense<hidden_width, classes>>;

/// skip: Dense+BatchNorm+ReLU, then (Depth - 1) / 2 pairs of [Dense+BatchNorm+ReLU, then
/// x + BatchNorm(Dense(x)) and ReLU], then Dense(10).
template <std::size_t Depth>
using SkipMlp = Sequential<Dense<input_width, hidden_width>, BatchNorm<hidden_width>, ReLU,
                           Repeat<(Depth - 1) / 2, Dense<hidden_width, hidden_width>, BatchNorm<hidden_width>, ReLU,
                                  Residual<Dense<hidden_width, hidden_width>, BatchNorm<hidden_width>>, ReLU>,
                           Dense<hidden_width, classes>>;

/// selu: Dense+SELU, Depth - 1 times, then Dense(10).
template <std::size_t Depth>
using SeluMlp = Sequential<Dense<input_width, hidden_width>, SELU,
                           Repeat<Depth - 2, Dense<hidden_width, hidden_width>, SELU>,
                           Dense<hidden_width, classes>>;

/// layernorm: Dense+LayerNorm+ReLU, Depth - 1 times, then Dense(10).
template <std::size_t Depth>
using LayerNormMlp = Sequential<Dense<input_width, hidden_width>, LayerNorm<hidden_width>, ReLU,
                                Repeat<Depth - 2, Dense<hidden_width, hidden_width>, LayerNorm<hidden_width>, ReLU>,
                                Dense<hidden_width, classes>>;

/// rezero: Dense+ReLU, then (Depth - 1) / 2 blocks x + alpha [Dense+ReLU, Dense+ReLU](x), then Dense(10).
template <std::size_t Depth>
using ReZeroMlp = Sequential<Dense<input_width, hidden_width>, ReLU,
                             Repeat<(Depth - 1) / 2, ReZero<Dense<hidden_width, hidden_width>, ReLU,
                                                            Dense<hidden_width, hidden_width>, ReLU>>,
                             Dense<hidden_width, classes>>;

/// The configurations by name, as the command-line tools spell them.
enum class Config { bn, plain, skip, selu, layernorm, rezero };
/// Indexed by Config.
inline constexpr std::string_view config_names[] = {"bn", "plain", "skip", "selu", "layernorm", "rezero"};

/// Whether configuration c has BatchNorm layers (whose settings then apply to it).
constexpr bool has_batch_norm(Config c) { return c == Config::bn || c == Config::skip; }

/// The kernel initialiser configuration c is meant to start from: LeCun-normal for selu (its
/// fixed point of mean 0 and variance 1 needs weights of variance 1 / fan_in), else Keras' default.
constexpr KernelInit default_kernel_init(Config c) {
    return c == Config::selu ? KernelInit::lecun_normal : KernelInit::glorot_uniform;
}

/// The network type of configuration C (see Network).
template <Config C, std::size_t Depth>
struct network;
/// bn: BnMlp.
template <std::size_t Depth>
struct network<Config::bn, Depth> { using type = BnMlp<Depth>; /**< the network */ };
/// plain: PlainMlp.
template <std::size_t Depth>
struct network<Config::plain, Depth> { using type = PlainMlp<Depth>; /**< the network */ };
/// skip: SkipMlp.
template <std::size_t Depth>
struct network<Config::skip, Depth> { using type = SkipMlp<Depth>; /**< the network */ };

/// selu: SeluMlp.
template <std::size_t Depth>
struct network<Config::selu, Depth> { using type = SeluMlp<Depth>; /**< the network */ };
/// layernorm: LayerNormMlp.
template <std::size_t Depth>
struct network<Config::layernorm, Depth> { using type = LayerNormMlp<Depth>; /**< the network */ };
/// rezero: ReZeroMlp.
template <std::size_t Depth>
struct network<Config::rezero, Depth> { using type = ReZeroMlp<Depth>; /**< the network */ };

/// The network type of configuration C at the seed's depth Depth.
template <Config C, std::size_t Depth>
using Network = typename network<C, Depth>::type;

}  // namespace layerwise::seed
