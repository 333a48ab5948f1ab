// layerwise/models/seed_mlp.hpp — the three MLPs of the seed study (Rasool, "Exploding and
// Vanishing Gradient Demo", Keras), width 128, for MNIST-shaped input (784 -> 10).
//
// The seed's depth N (its N_LAYERS) counts N - 1 hidden layers plus the output layer:
//   bn     Dense+BatchNorm+ReLU, N - 1 times, then Dense(10)
//   plain  Dense+ReLU, N - 1 times, then Dense(10)                         (no BatchNorm)
//   skip   Dense+BatchNorm+ReLU, then floor((N-1)/2) pairs of
//          [Dense+BatchNorm+ReLU, then x + BatchNorm(Dense(x)) and ReLU],   then Dense(10)
// The output layer gives logits; SoftmaxCrossEntropy applies the softmax.
#pragma once

#include "../compose/repeat.hpp"
#include "../compose/residual.hpp"
#include "../compose/sequential.hpp"
#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/dense.hpp"

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

/// The three configurations by name, as the command-line tools spell them.
enum class Config { bn, plain, skip };
inline constexpr std::string_view config_names[] = {"bn", "plain", "skip"};  ///< indexed by Config

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

/// The network type of configuration C at the seed's depth Depth.
template <Config C, std::size_t Depth>
using Network = typename network<C, Depth>::type;

}  // namespace layerwise::seed
