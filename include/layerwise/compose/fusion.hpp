// layerwise/compose/fusion.hpp — where Sequential runs two adjacent layers as one pass.
//
// Training: a BatchNorm followed by a ReLU (batch_norm.hpp has the formulas). Forward writes
// max(gamma xhat + beta, 0) straight into the ReLU's output: one pass over (B x N) memory
// instead of two, and one buffer fewer. Backward writes ReLU's gate (dy where y > 0) into
// BatchNorm's dx buffer and turns it into dx in place: one buffer fewer, which is worth 3% of the
// 25-layer net's step against a plain backward after the fused forward (bench_train, 8
// alternated rounds, issue 13): the working set is past L2 already. The numbers are the
// unfused ones bit for bit: the same operations in the same order. BatchNorm::output() and
// the ReLU's input_gradient() are not formed (they throw).
//
// Inference: a BatchNorm right after a Dense is an affine map per column, so it folds into
// the Dense (the formulas are in batch_norm.hpp and dense.hpp):
//
//   BatchNorm(x W + b) = (x W) a + c,   a = gamma / sqrt(moving_var + eps),   c = (b - moving_mean) a + beta
//
// one GEMM (or, for 1 to 4 rows, one read of W: small_gemm.hpp) with a and c applied as its
// output is stored, instead of the bias copy, the GEMM and BatchNorm's pass over the output.
// a and c are cached, and recomputed when any of the five vectors they come from has changed
// (b, gamma, beta and the moving mean and variance, compared bit for bit with the copies the
// cache keeps): after an optimizer step, a train-mode forward, load_npz or a user's own write
// to a parameter, the next inference forward uses the new values. The comparison costs a
// read of 5 N numbers, which is little next to W's N x In.
//
// The folded pair forms no output of the Dense's own and keeps no input for the BatchNorm,
// so after a folded forward Dense::output() and BatchNorm::backward throw std::logic_error.
// An inference-mode backward (check_gradients in inference mode does one), or diagnostics
// that read every layer's output and gradient (study::Recorder), run inside a NoFusion scope:
//
//   { layerwise::NoFusion unfused;  y = net.forward(x, Mode::inference);  net.backward(dy); }
//
// Results agree with the unfolded path to float rounding (tests/test_fusion.cpp).
#pragma once

#include "../concepts.hpp"

#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace layerwise {

template <std::size_t In, std::size_t Out, class T>
class Dense;
template <std::size_t N, class T>
class BatchNorm;
template <class Fn, class T>
class Activation;
struct relu_fn;

/// Whether Sequential runs the pairs of this file as one pass, in this thread (on unless a
/// NoFusion is alive in this thread).
inline bool& fusion_enabled() {
    thread_local bool on = true;
    return on;
}

/// Turns fusion off in this thread for the lifetime of the object: every layer runs its own
/// forward and backward, and forms its own output (see the top of this file).
class NoFusion {
public:
    NoFusion() : saved_(fusion_enabled()) { fusion_enabled() = false; }
    ~NoFusion() { fusion_enabled() = saved_; }
    NoFusion(const NoFusion&) = delete;
    NoFusion& operator=(const NoFusion&) = delete;

private:
    bool saved_;
};

/// A Dense followed by a BatchNorm of its width, run as one pass in inference, with the
/// cached a and c (see the top of this file).
template <std::size_t N, class T>
class BatchNormFold {
public:
    template <std::size_t In>
    const Matrix<T>& forward(Dense<In, N, T>& dense, BatchNorm<N, T>& bn, MatrixView<T> x) {
        refresh(dense, bn);
        Matrix<T>& y = bn.folded_output(x.rows());
        dense.forward_scaled(x, a_.data(), c_.data(), y);  // y = (x W) a + c
        return y;
    }

    /// How many times a and c have been computed (for tests: once per change, not per call).
    std::size_t refreshes() const { return refreshes_; }

private:
    template <std::size_t In>
    void refresh(const Dense<In, N, T>& dense, const BatchNorm<N, T>& bn) {
        const T* from[] = {dense.b.data(), bn.gamma.data(), bn.beta.data(), bn.moving_mean.data(),
                           bn.moving_variance.data()};
        bool same = refreshes_ > 0;
        for (std::size_t k = 0; k < 5 && same; ++k) same = std::memcmp(from[k], key_.data() + k * N, N * sizeof(T)) == 0;
        if (same) return;
        for (std::size_t k = 0; k < 5; ++k) std::memcpy(key_.data() + k * N, from[k], N * sizeof(T));
        bn.fold(dense.b.data(), a_.data(), c_.data());
        ++refreshes_;
    }

    std::array<T, 5 * N> key_{};  // b, gamma, beta, moving mean, moving variance: (5 x N), as last folded
    std::array<T, N> a_{};        // a: (N) gamma / sqrt(moving_var + eps)
    std::array<T, N> c_{};        // c: (N) (b - moving_mean) a + beta
    std::size_t refreshes_ = 0;
};

namespace detail {

/// What Sequential keeps between its layers A and B: nothing, unless B folds into A.
struct NoFold {};

template <class A, class B>
struct fold_between {
    using type = NoFold;
};
template <std::size_t In, std::size_t N, class T>
struct fold_between<Dense<In, N, T>, BatchNorm<N, T>> {
    using type = BatchNormFold<N, T>;
};

template <class A, class B>
inline constexpr bool folds = !std::is_same_v<typename fold_between<A, B>::type, NoFold>;

/// Whether B's forward and backward run inside A's in training (A then B: BatchNorm then ReLU).
template <class A, class B>
inline constexpr bool fuses = false;
template <std::size_t N, class T>
inline constexpr bool fuses<BatchNorm<N, T>, Activation<relu_fn, T>> = true;

}  // namespace detail

}  // namespace layerwise
