// layerwise/optim/numerics.hpp — two framework versions whose small numerical choices
// decide whether a deep network trains at all, and the two parts each preset is made of.
//
//   tf2       TF2 Keras, the seed notebook's framework:
//             RMSprop  p -= lr g / sqrt(a + eps)        (epsilon inside the root, as TF's ApplyRMSProp)
//             BatchNorm moving = 0.99 moving + 0.01 batch, starting from mean 0, variance 1
//   keras2.1  Keras 2.1.5, which the seed's original scripts ran on:
//             RMSprop  p -= lr g / (sqrt(a) + eps)      (epsilon outside: a vanishing gradient
//                                                        is rescaled to a full-size step)
//             BatchNorm zero-debiased moving averages (after one batch they equal that batch)
//
// A preset is nothing but its parts (parts_of): RMSprop's epsilon placement and BatchNorm's
// debiasing. Each part can be set alone, so a study can ask which of the two matters.
#pragma once

#include "../visit.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace layerwise {

enum class Numerics { tf2, keras2_1 };

/// Where RMSprop adds epsilon: inside the square root (TF2) or outside it (Keras 2.1.5).
enum class RMSpropEpsilon { inside, outside };

/// The two numerical choices a preset bundles.
struct NumericsParts {
    RMSpropEpsilon rmsprop_epsilon = RMSpropEpsilon::inside;
    bool bn_debias = false;  // BatchNorm's zero-debiased moving averages
    bool operator==(const NumericsParts&) const = default;
};

constexpr NumericsParts parts_of(Numerics n) {
    return n == Numerics::tf2 ? NumericsParts{RMSpropEpsilon::inside, false}
                              : NumericsParts{RMSpropEpsilon::outside, true};
}

inline std::string_view to_string(Numerics n) { return n == Numerics::tf2 ? "tf2" : "keras2.1"; }
inline std::string_view to_string(RMSpropEpsilon e) { return e == RMSpropEpsilon::inside ? "inside" : "outside"; }

inline Numerics parse_numerics(std::string_view s) {
    if (s == "tf2") return Numerics::tf2;
    if (s == "keras2.1") return Numerics::keras2_1;
    throw std::invalid_argument("layerwise: unknown numerics '" + std::string(s) + "' (expected tf2 or keras2.1)");
}

inline RMSpropEpsilon parse_rmsprop_epsilon(std::string_view s) {
    if (s == "inside") return RMSpropEpsilon::inside;
    if (s == "outside") return RMSpropEpsilon::outside;
    throw std::invalid_argument("layerwise: unknown RMSprop epsilon placement '" + std::string(s) +
                                "' (expected inside or outside)");
}

/// Sets every BatchNorm of net to plain (false) or zero-debiased (true) moving averages.
template <class Net>
void set_bn_debias(Net& net, bool debias) {
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.zero_debias; }) layer.zero_debias = debias;
    });
}

/// Sets the momentum of every BatchNorm's moving averages (Keras' default: 0.99).
template <class Net>
void set_bn_momentum(Net& net, double momentum) {
    if (!(momentum >= 0 && momentum < 1))
        throw std::invalid_argument("layerwise: BatchNorm momentum must be in [0, 1), got " + std::to_string(momentum));
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.momentum = 0; })
            layer.momentum = static_cast<std::remove_cvref_t<decltype(layer.momentum)>>(momentum);
    });
}

/// Sets every BatchNorm of net to the moving-average rule of `numerics` (its bn_debias part;
/// the RMSprop part is the optimizer's, see RMSprop(lr, numerics)).
template <class Net>
void set_numerics(Net& net, Numerics numerics) {
    set_bn_debias(net, parts_of(numerics).bn_debias);
}

}  // namespace layerwise
