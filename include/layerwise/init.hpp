// layerwise/init.hpp — Keras' initialisers, reproducible from a seed.
//
//   kernel (fan_in x fan_out), one of
//     glorot_uniform  ~ U(-limit, limit),  limit = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010; Keras' default)
//     he_uniform      ~ U(-limit, limit),  limit = sqrt(6 / fan_in)               (He et al. 2015)
//     he_normal       ~ N(0, s^2) truncated to |w| <= 2s, s = sqrt(2 / fan_in) / 0.87962566103423978
//                     (Keras' VarianceScaling: the divisor makes the truncated variance 2 / fan_in)
//   bias = 0, gamma = 1, beta = 0, moving_mean = 0, moving_variance = 1
// Each layer declares which of these its parameters get (Initializer, in visit_parameters);
// a parameter's name plays no part.
//
// Every layer and network is initialised when it is constructed, as init(net,
// default_init_seed) would do it, so that no network ever runs on all-zero kernels; init(net,
// seed) re-seeds. (A network that refused to run until initialised would need a flag kept
// true by every way of setting parameters: init, load_npz, copy_parameters, a user's own
// loader. Initialising on construction, as PyTorch and Keras do, needs none.)
//
// One 64-bit Mersenne Twister seeded with `seed` fills the kernels in the order of the
// parameter walk, and random numbers are formed from its raw bits (not through a library
// distribution), so the same seed gives the same network with any compiler, standard
// library or thread count.
#pragma once

#include "visit.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace layerwise {

/// How kernels are drawn (the top of this file); glorot_uniform is Keras' default.
enum class KernelInit { glorot_uniform, he_uniform, he_normal };

/// The initialiser's name as Keras spells it: "glorot_uniform", "he_uniform" or "he_normal".
inline std::string_view to_string(KernelInit k) {
    switch (k) {
        case KernelInit::glorot_uniform: return "glorot_uniform";
        case KernelInit::he_uniform: return "he_uniform";
        case KernelInit::he_normal: return "he_normal";
    }
    return "?";
}

/// The initialiser to_string spells s; throws std::invalid_argument for any other s.
inline KernelInit parse_kernel_init(std::string_view s) {
    for (KernelInit k : {KernelInit::glorot_uniform, KernelInit::he_uniform, KernelInit::he_normal})
        if (to_string(k) == s) return k;
    throw std::invalid_argument("layerwise: unknown initialiser '" + std::string(s) +
                                "' (expected glorot_uniform, he_uniform or he_normal)");
}

/// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// A standard normal draw truncated to [-2, 2]: Box-Muller on two uniform draws, redrawn
/// (both) until the first result lies inside.
inline double truncated_normal01(std::mt19937_64& rng) {
    constexpr double two_pi = 6.283185307179586476925;
    for (;;) {
        const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);  // u1 in (0, 1]: log(u1) is finite
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
        if (std::abs(z) <= 2.0) return z;
    }
}

/// One kernel weight for a (fan_in x fan_out) kernel under scheme k.
inline double draw_kernel_weight(KernelInit k, double fan_in, double fan_out, std::mt19937_64& rng) {
    switch (k) {
        case KernelInit::glorot_uniform: {
            const double limit = std::sqrt(6.0 / (fan_in + fan_out));
            return -limit + 2.0 * limit * uniform01(rng);
        }
        case KernelInit::he_uniform: {
            const double limit = std::sqrt(6.0 / fan_in);
            return -limit + 2.0 * limit * uniform01(rng);
        }
        case KernelInit::he_normal: return std::sqrt(2.0 / fan_in) / 0.87962566103423978 * truncated_normal01(rng);
    }
    return 0;
}

/// The seed a layer or network is initialised with when it is constructed.
inline constexpr std::uint64_t default_init_seed = 0;

/// (Re-)initialises net from seed: each kernel drawn under kernel_init in the order of the
/// parameter walk, every other parameter 0 or 1 as its layer declares, every gradient 0.
template <class Net>
void init(Net& net, std::uint64_t seed, KernelInit kernel_init = KernelInit::glorot_uniform) {
    std::mt19937_64 rng(seed);
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto& grad) {
        using T = typename std::remove_cvref_t<decltype(value)>::value_type;
        grad.fill(T(0));
        switch (p.initializer) {  // as the layer declares it, whatever the parameter's name
            case Initializer::kernel: {
                const double fan_in = static_cast<double>(value.shape()[0]);
                const double fan_out = value.dimension() > 1 ? static_cast<double>(value.shape()[1]) : 1.0;
                for (auto& w : value) w = static_cast<T>(draw_kernel_weight(kernel_init, fan_in, fan_out, rng));
                break;
            }
            case Initializer::zeros: value.fill(T(0)); break;
            case Initializer::ones: value.fill(T(1)); break;
        }
    });
}

}  // namespace layerwise
