// layerwise/optim/numerics.hpp — two framework versions whose small numerical choices
// decide whether a deep network trains at all.
//
//   tf2       TF2 Keras, the seed notebook's framework:
//             RMSprop  p -= lr g / sqrt(a + eps)        (epsilon inside the root, as TF's ApplyRMSProp)
//             BatchNorm moving = 0.99 moving + 0.01 batch, starting from mean 0, variance 1
//   keras2.1  Keras 2.1.5, which the seed's original scripts ran on:
//             RMSprop  p -= lr g / (sqrt(a) + eps)      (epsilon outside: a vanishing gradient
//                                                        is rescaled to a full-size step)
//             BatchNorm zero-debiased moving averages (after one batch they equal that batch)
#pragma once

#include "../visit.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace layerwise {

enum class Numerics { tf2, keras2_1 };

inline std::string_view to_string(Numerics n) { return n == Numerics::tf2 ? "tf2" : "keras2.1"; }

inline Numerics parse_numerics(std::string_view s) {
    if (s == "tf2") return Numerics::tf2;
    if (s == "keras2.1") return Numerics::keras2_1;
    throw std::invalid_argument("layerwise: unknown numerics '" + std::string(s) + "' (expected tf2 or keras2.1)");
}

/// Sets every BatchNorm of net to the moving-average rule of `numerics`.
template <class Net>
void set_numerics(Net& net, Numerics numerics) {
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.zero_debias; }) layer.zero_debias = numerics == Numerics::keras2_1;
    });
}

}  // namespace layerwise
