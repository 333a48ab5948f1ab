// layerwise/optim/keras_presets.hpp — the numerics of two Keras versions, as the plain
// settings of numerics.hpp that each one fixes.
//
//   KerasVersion::tf2       TF2 Keras:
//                           RMSprop  p -= lr g / sqrt(a + eps)      (epsilon inside the root, as TF's ApplyRMSProp)
//                           BatchNorm moving = 0.99 moving + 0.01 batch, starting from mean 0, variance 1
//   KerasVersion::keras2_1  Keras 2.1.5:
//                           RMSprop  p -= lr g / (sqrt(a) + eps)    (epsilon outside: a vanishing gradient
//                                                                    is rescaled to a full-size step)
//                           BatchNorm zero-debiased moving averages (after one batch they equal that batch)
//
//   const KerasNumerics k = keras_numerics(KerasVersion::keras2_1);
//   optimizer.epsilon_placement = k.rmsprop_epsilon;   set_bn_debias(net, k.bn_debias);
//   // or, the same: use_keras_numerics(k, net, optimizer);
//
// A preset is nothing but these two parts, so each can also be set alone.
#pragma once

#include "numerics.hpp"
#include "rmsprop.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace layerwise {

/// The two Keras versions whose numerics a preset reproduces (the top of this file).
enum class KerasVersion { tf2 /**< TF2 Keras */, keras2_1 /**< Keras 2.1.5 */ };

/// The two numerical choices a Keras version fixes.
struct KerasNumerics {
    RMSpropEpsilon rmsprop_epsilon = RMSpropEpsilon::inside;  ///< where RMSprop adds epsilon
    bool bn_debias = false;  ///< BatchNorm's zero-debiased moving averages
    /// Both choices equal.
    bool operator==(const KerasNumerics&) const = default;
};

/// The numerics of Keras version v: tf2 epsilon inside and no debiasing, keras2_1 outside and debiasing.
constexpr KerasNumerics keras_numerics(KerasVersion v) {
    return v == KerasVersion::tf2 ? KerasNumerics{RMSpropEpsilon::inside, false}
                                  : KerasNumerics{RMSpropEpsilon::outside, true};
}

/// "tf2" or "keras2.1", as the command lines spell them.
inline std::string_view to_string(KerasVersion v) { return v == KerasVersion::tf2 ? "tf2" : "keras2.1"; }

/// The KerasVersion spelt "tf2" or "keras2.1"; throws std::invalid_argument for anything else.
inline KerasVersion parse_keras_version(std::string_view s) {
    if (s == "tf2") return KerasVersion::tf2;
    if (s == "keras2.1") return KerasVersion::keras2_1;
    throw std::invalid_argument("layerwise: unknown numerics '" + std::string(s) + "' (expected tf2 or keras2.1)");
}

/// Sets every BatchNorm of net, and the optimizer, to the numerics k.
template <class Net, class T>
void use_keras_numerics(const KerasNumerics& k, Net& net, RMSprop<T>& optimizer) {
    set_bn_debias(net, k.bn_debias);
    optimizer.epsilon_placement = k.rmsprop_epsilon;
}

}  // namespace layerwise
