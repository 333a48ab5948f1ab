// layerwise/init.hpp — Keras' default initialisation, reproducible from a seed.
//
//   kernel  ~ U(-limit, limit),  limit = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
//   bias = 0, gamma = 1, beta = 0, moving_mean = 0, moving_variance = 1
//
// One 64-bit Mersenne Twister seeded with `seed` fills the kernels in the order of the
// parameter walk, and uniform numbers are formed from its raw bits (not through a
// library distribution), so the same seed gives the same network with any compiler,
// standard library or thread count.
#pragma once

#include "visit.hpp"

#include <cmath>
#include <cstdint>
#include <random>

namespace layerwise {

/// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

template <class Net>
void init(Net& net, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto& grad) {
        using T = typename std::remove_cvref_t<decltype(value)>::value_type;
        grad.fill(T(0));
        if (p.kind == "kernel") {
            const double fan_in = static_cast<double>(value.shape(0)), fan_out = static_cast<double>(value.shape(1));
            const double limit = std::sqrt(6.0 / (fan_in + fan_out));
            for (auto& w : value) w = static_cast<T>(-limit + 2.0 * limit * uniform01(rng));
        } else if (p.kind == "gamma" || p.kind == "moving_variance") {
            value.fill(T(1));
        } else {
            value.fill(T(0));  // bias, beta, moving_mean
        }
    });
}

}  // namespace layerwise
