// layerwise/optim/numerics.hpp — small numerical choices on which frameworks differ, each a
// plain setting of its own. In a deep network they can decide whether it trains at all.
//
//   RMSprop::epsilon_placement   RMSpropEpsilon::inside    p -= lr g / sqrt(a + eps)
//                                RMSpropEpsilon::outside   p -= lr g / (sqrt(a) + eps)
//   set_bn_debias(net, on)       every BatchNorm's moving averages plain (off) or
//                                zero-debiased (on; layers/batch_norm.hpp)
//   set_bn_momentum(net, m)      every BatchNorm's moving-average momentum
//
// keras_presets.hpp bundles them as two Keras versions set them.
#pragma once

#include "../visit.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace layerwise {

/// Where RMSprop adds epsilon: inside the square root (TF's ApplyRMSProp) or outside it.
enum class RMSpropEpsilon { inside, outside };

/// "inside" or "outside".
inline std::string_view to_string(RMSpropEpsilon e) { return e == RMSpropEpsilon::inside ? "inside" : "outside"; }

/// The placement to_string spells s; throws std::invalid_argument for any other s.
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

}  // namespace layerwise
