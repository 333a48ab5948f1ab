// layerwise/init.hpp — Keras' initialisers, reproducible from a seed.
//
//   kernel (fan_in x fan_out), one of
//     glorot_uniform  ~ U(-limit, limit),  limit = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010; Keras' default)
//     he_uniform      ~ U(-limit, limit),  limit = sqrt(6 / fan_in)               (He et al. 2015)
//     he_normal       ~ N(0, s^2) truncated to |w| <= 2s, s = sqrt(2 / fan_in) / 0.87962566103423978
//                     (Keras' VarianceScaling: the divisor makes the truncated variance 2 / fan_in)
//     lecun_normal    ~ N(0, s^2) truncated to |w| <= 2s, s = sqrt(1 / fan_in) / 0.87962566103423978
//                     (LeCun 1998; what self-normalising SELU networks need, Klambauer et al. 2017)
//     orthogonal      W = Q from the QR decomposition of a Gaussian matrix, with R's diagonal made
//                     positive (Saxe et al. 2014; Mezzadri 2007: that makes Q uniform over the
//                     orthogonal matrices). W^T W = I when fan_in >= fan_out, else W W^T = I.
//   times a gain, 1 unless chosen (PyTorch's gain: sqrt(2) keeps an orthogonal ReLU stack's
//   signal, as He's factor does)
//   bias = 0, gamma = 1, beta = 0, moving_mean = 0, moving_variance = 1
// Each layer declares which of these its parameters get (Initializer, in visit_parameters);
// a parameter's name plays no part. The kernel scheme is the network's (InitPlan::kernel) unless
// the plan names the layer (InitPlan::layers: "dense_9" -> orthogonal). A layer with a seed(s)
// member (Dropout) gets one from the network's seed and its position, so its random draws are
// reproducible too.
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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace layerwise {

/// How kernels are drawn (the top of this file); glorot_uniform is Keras' default.
enum class KernelInit { glorot_uniform, he_uniform, he_normal, lecun_normal, orthogonal };

/// Every KernelInit, in the order of its declaration.
inline constexpr KernelInit kernel_inits[] = {KernelInit::glorot_uniform, KernelInit::he_uniform,
                                              KernelInit::he_normal, KernelInit::lecun_normal,
                                              KernelInit::orthogonal};

/// The initialiser's name as Keras spells it: "glorot_uniform", "he_uniform", "he_normal",
/// "lecun_normal" or "orthogonal".
inline std::string_view to_string(KernelInit k) {
    switch (k) {
        case KernelInit::glorot_uniform: return "glorot_uniform";
        case KernelInit::he_uniform: return "he_uniform";
        case KernelInit::he_normal: return "he_normal";
        case KernelInit::lecun_normal: return "lecun_normal";
        case KernelInit::orthogonal: return "orthogonal";
    }
    return "?";
}

/// The initialiser to_string spells s; throws std::invalid_argument for any other s.
inline KernelInit parse_kernel_init(std::string_view s) {
    for (KernelInit k : kernel_inits)
        if (to_string(k) == s) return k;
    throw std::invalid_argument("layerwise: unknown initialiser '" + std::string(s) +
                                "' (expected glorot_uniform, he_uniform, he_normal, lecun_normal or orthogonal)");
}

/// One layer's own kernel scheme in an InitPlan.
struct LayerInit {
    std::string layer;  ///< the layer's name in the walk, "dense_9" (visit.hpp)
    KernelInit kernel;  ///< its scheme
    double gain = 1.0;  ///< its gain
};

/// How init draws a network's kernels: one scheme and gain for all, and any layer's own.
struct InitPlan {
    KernelInit kernel = KernelInit::glorot_uniform;  ///< the scheme of every kernel not named in layers
    double gain = 1.0;                               ///< multiplies every such kernel
    std::vector<LayerInit> layers = {};              ///< layers with their own scheme, by name
};

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

/// A standard normal draw (Box-Muller on two uniform draws; the second result is not used).
inline double normal01(std::mt19937_64& rng) {
    constexpr double two_pi = 6.283185307179586476925;
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
}

/// An orthogonal (rows x cols) matrix, row-major: Q of the QR decomposition of a Gaussian
/// matrix with R's diagonal positive, transposed when rows < cols, so that its columns
/// (rows >= cols) or its rows (rows < cols) are orthonormal.
inline std::vector<double> orthogonal_matrix(std::size_t rows, std::size_t cols, std::mt19937_64& rng) {
    const std::size_t m = std::max(rows, cols), n = std::min(rows, cols);
    std::vector<double> q(m * n);  // A, then Q: (m x n), column j at q[j * m ...]
    for (double& v : q) v = normal01(rng);
    // Gram-Schmidt, each column orthogonalised twice against the ones before it ("twice is
    // enough": orthonormal to rounding however ill-conditioned A is). Dividing by the norm
    // left over is QR with a positive diagonal of R: the sign-corrected Q.
    for (std::size_t j = 0; j < n; ++j) {
        double* v = q.data() + j * m;
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t i = 0; i < j; ++i) {
                const double* u = q.data() + i * m;
                double dot = 0;
                for (std::size_t k = 0; k < m; ++k) dot += u[k] * v[k];
                for (std::size_t k = 0; k < m; ++k) v[k] -= dot * u[k];
            }
        double norm = 0;
        for (std::size_t k = 0; k < m; ++k) norm += v[k] * v[k];
        norm = std::sqrt(norm);
        for (std::size_t k = 0; k < m; ++k) v[k] /= norm;
    }
    std::vector<double> w(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)  // W = Q (rows >= cols) or Q^T (rows < cols)
            w[r * cols + c] = rows >= cols ? q[c * m + r] : q[r * m + c];
    return w;
}

/// One kernel weight for a (fan_in x fan_out) kernel under scheme k (not orthogonal, which
/// draws the whole matrix at once: orthogonal_matrix).
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
        case KernelInit::lecun_normal: return std::sqrt(1.0 / fan_in) / 0.87962566103423978 * truncated_normal01(rng);
        case KernelInit::orthogonal: break;
    }
    throw std::logic_error("layerwise: draw_kernel_weight: orthogonal kernels are drawn whole (orthogonal_matrix)");
}

/// Fills a kernel (a Matrix, or a Vector taken as one column) under scheme k, times gain.
template <class Tensor>
void draw_kernel(Tensor& value, KernelInit k, double gain, std::mt19937_64& rng) {
    using T = typename Tensor::value_type;
    const std::size_t rows = value.shape()[0], cols = value.dimension() > 1 ? value.shape()[1] : 1;
    if (k == KernelInit::orthogonal) {
        const std::vector<double> w = orthogonal_matrix(rows, cols, rng);
        std::size_t i = 0;
        for (auto& v : value) v = static_cast<T>(gain * w[i++]);
        return;
    }
    for (auto& w : value)
        w = static_cast<T>(gain * draw_kernel_weight(k, static_cast<double>(rows), static_cast<double>(cols), rng));
}

/// The seed of the layer at position `index` of the walk in a network initialised from seed:
/// one splitmix64 step of both, so that neighbouring layers and seeds get unrelated streams.
inline std::uint64_t layer_seed(std::uint64_t seed, std::size_t index) {
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(index) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// The seed a layer or network is initialised with when it is constructed.
inline constexpr std::uint64_t default_init_seed = 0;

/// (Re-)initialises net from seed: each kernel drawn under the plan's scheme for its layer in
/// the order of the parameter walk, every other parameter 0 or 1 as its layer declares, every
/// gradient 0, and every layer with a seed(s) member seeded (the top of this file). Throws
/// std::invalid_argument, before changing anything, when the plan names a layer the network
/// does not have or one without a kernel.
template <class Net>
void init(Net& net, std::uint64_t seed, const InitPlan& plan) {
    // One visitor walks twice: first only to see which of the plan's layers exist (so that a
    // bad plan changes nothing), then to draw. (One visitor type: a layer's compile error about
    // its parameters is printed once.)
    std::vector<bool> used(plan.layers.size());
    bool dry_run = true;
    std::mt19937_64 rng(seed);
    auto visit = [&](const ParameterInfo& p, auto& value, auto& grad) {
        using T = typename std::remove_cvref_t<decltype(value)>::value_type;
        if (dry_run) {
            for (std::size_t i = 0; i < plan.layers.size(); ++i)
                if (p.initializer == Initializer::kernel && plan.layers[i].layer == p.layer) used[i] = true;
            return;
        }
        grad.fill(T(0));
        switch (p.initializer) {  // as the layer declares it, whatever the parameter's name
            case Initializer::kernel: {
                KernelInit k = plan.kernel;
                double gain = plan.gain;
                for (const LayerInit& l : plan.layers)
                    if (l.layer == p.layer) k = l.kernel, gain = l.gain;
                draw_kernel(value, k, gain, rng);
                break;
            }
            case Initializer::zeros: value.fill(T(0)); break;
            case Initializer::ones: value.fill(T(1)); break;
        }
    };
    for_each_parameter(net, visit);
    for (std::size_t i = 0; i < plan.layers.size(); ++i)
        if (!used[i])
            throw std::invalid_argument("layerwise: init: the plan names layer '" + plan.layers[i].layer +
                                        "', which is not a layer of this network with a kernel");
    dry_run = false;
    for_each_parameter(net, visit);
    for_each_layer(net, [&](auto& layer, const LayerInfo& info) {
        if constexpr (requires { layer.seed(std::uint64_t{}); }) layer.seed(layer_seed(seed, info.index));
    });
}

/// (Re-)initialises net from seed with every kernel drawn under kernel_init (gain 1).
template <class Net>
void init(Net& net, std::uint64_t seed, KernelInit kernel_init = KernelInit::glorot_uniform) {
    init(net, seed, InitPlan{kernel_init});
}

}  // namespace layerwise
