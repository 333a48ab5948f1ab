// layerwise/layers/batch_norm.hpp — batch normalisation over the batch axis (Ioffe & Szegedy 2015),
// with the constants and update rules of TF2 Keras' BatchNormalization on 2-D inputs.
//
//   train forward (batch statistics, biased variance):
//     mu_j    = 1/B sum_i x_ij                      var_j = 1/B sum_i (x_ij - mu_j)^2
//     xhat_ij = (x_ij - mu_j) / sqrt(var_j + eps)   y_ij  = gamma_j xhat_ij + beta_j
//     moving  = momentum * moving + (1 - momentum) * batch      (mean and variance)
//   train backward (mu and var depend on x):
//     dbeta_j  = sum_i dy_ij                        dgamma_j = sum_i dy_ij xhat_ij
//     dx_ij    = gamma_j / (B sqrt(var_j + eps)) * (B dy_ij - dbeta_j - xhat_ij dgamma_j)
//   (xhat is not stored: backward recomputes it from the input, which it keeps, like Dense)
//   inference forward and backward (moving statistics, constants):
//     y_ij = gamma_j (x_ij - moving_mean_j) / sqrt(moving_var_j + eps) + beta_j
//     dx_ij = dy_ij gamma_j / sqrt(moving_var_j + eps)
//
// forward(x, mode, y, map) and backward(dy, dx) are the same passes into buffers the caller
// owns, with an element-wise map applied to each output as it is stored, and dx allowed to be
// dy itself: what lets a layer built on this one (compose/batch_norm_relu.hpp) run its own
// element-wise step in the same pass instead of one more over memory.
//
// Keras 2.1.5 (zero_debias = true) kept the moving averages zero-debiased instead: a
// hidden accumulator a = momentum a + (1 - momentum) batch starts at 0 and
// moving = a / (1 - momentum^t) after t updates, so after one batch moving == batch.
#pragma once

#include "../concepts.hpp"
#include "../parallel.hpp"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace layerwise {

/// Batch normalisation of N features, with TF2 Keras' constants and updates (the top of this file).
template <std::size_t N, class T = float>
class BatchNorm {
    static_assert(N > 0, "layerwise: BatchNorm<N> needs N > 0");

public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U.
    template <class U>
    using rebind = BatchNorm<N, U>;
    static constexpr std::size_t in_features = N;   ///< input width
    static constexpr std::size_t out_features = N;  ///< output width, the same
    static constexpr std::size_t parameter_count = 4 * N;  ///< 4 N: Keras counts the moving statistics
    static constexpr std::string_view name = "batch_normalization";  ///< the base of its names in a network (visit.hpp)

    Vector<T> gamma = zeros<T>(N);            ///< gamma: (N) scale, trainable
    Vector<T> beta = zeros<T>(N);             ///< beta: (N) shift, trainable
    Vector<T> moving_mean = zeros<T>(N);      ///< (N) not trainable
    Vector<T> moving_variance = zeros<T>(N);  ///< (N) not trainable
    Vector<T> dgamma = zeros<T>(N);           ///< (N) dLoss/dgamma of the last backward
    Vector<T> dbeta = zeros<T>(N);            ///< (N) dLoss/dbeta of the last backward
    T epsilon = T(1e-3);                      ///< added to the variance under the square root (Keras' default;
                                              ///< PyTorch's BatchNorm1d: 1e-5)
    T momentum = T(0.99);                     ///< of the moving averages (Keras' default)
    bool zero_debias = false;                 ///< Keras 2.1.5's moving averages, see the top of this file
    bool track_moving_statistics = true;      ///< false: train mode leaves the moving statistics alone
                                              ///< (for diagnostic passes that must not change the model)

    /// gamma = 1, beta = 0, moving mean 0, moving variance 1.
    BatchNorm() {
        gamma.fill(T(1));
        moving_variance.fill(T(1));
    }

    /// y = gamma xhat + beta; x: (B x N) -> y: (B x N), with batch statistics in train mode
    /// (B >= 2; the moving averages are updated) and the moving statistics in inference.
    /// x must stay alive and unchanged until backward.
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) { return forward(x, mode, y_, identity{}); }

    /// The forward into y (B x N), a buffer of the caller's, with y_ij = map(gamma_j xhat_ij + beta_j).
    template <class Map>
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode, Matrix<T>& y, Map map);
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)

    /// dx for dy: (B x N), and dgamma, dbeta (the top of this file), as the last forward's mode says.
    const Matrix<T>& backward(const Matrix<T>& dy) { return backward(dy, dx_); }

    /// The backward into dx (B x N), a buffer of the caller's; dx may be dy itself.
    const Matrix<T>& backward(const Matrix<T>& dy, Matrix<T>& dx);

    /// Drops the reference to the last input (see Dense::forget_input).
    void forget_input() { x_ = nullptr; }

    /// Calls f(name, value, gradient, trainable, Initializer) for gamma, beta, moving_mean and
    /// moving_variance (the last two not trainable, with a zero gradient).
    template <class F>
    void visit_parameters(F&& f) {
        f("gamma", gamma, dgamma, true, Initializer::ones);
        f("beta", beta, dbeta, true, Initializer::zeros);
        f("moving_mean", moving_mean, no_gradient_, false, Initializer::zeros);
        f("moving_variance", moving_variance, no_gradient_, false, Initializer::ones);
    }

    /// The batch statistics of the last train-mode forward: mean (N) and biased variance (N).
    const std::array<T, N>& batch_mean() const { return mean_; }
    /// The biased batch variance of the last train-mode forward (see batch_mean()).
    const std::array<T, N>& batch_variance() const { return var_; }

    /// The output of the last forward(x, mode) and the input gradient of the last backward(dy),
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward(dy) (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

private:
    struct identity {
        T operator()(T v) const { return v; }
    };

    // The element-wise passes, over `rows` rows of N. The pointers are __restrict (no two
    // overlap), which is what lets the compiler vectorize the j loops.

    // y = map(gamma xhat + beta),  xhat = (x - mu) inv_std
    template <class Map>
    static void normalize(const T* __restrict x, const T* __restrict mu, const T* __restrict inv_std,
                          const T* __restrict gamma_, const T* __restrict beta_, T* __restrict y, std::size_t rows,
                          Map map) {
        for (std::size_t i = 0; i < rows; ++i, x += N, y += N)
            for (std::size_t j = 0; j < N; ++j) {
                const T xhat = (x[j] - mu[j]) * inv_std[j];
                y[j] = map(gamma_[j] * xhat + beta_[j]);
            }
    }

    // dx = c (B dy - dbeta - xhat dgamma),  c = gamma / (B sqrt(var + eps)),  xhat = (x - mu) inv_std.
    // dy and dx may be one buffer (backward in place): each element is read before it is
    // written, and neither is __restrict.
    static void normalize_backward(const T* dy, const T* __restrict x, const T* __restrict mu,
                                   const T* __restrict inv_std, const T* __restrict c, const T* __restrict dbeta_,
                                   const T* __restrict dgamma_, T batch, T* dx, std::size_t rows) {
        for (std::size_t i = 0; i < rows; ++i, dy += N, x += N, dx += N)
            for (std::size_t j = 0; j < N; ++j) {
                const T xhat = (x[j] - mu[j]) * inv_std[j];
                dx[j] = c[j] * (batch * dy[j] - dbeta_[j] - xhat * dgamma_[j]);
            }
    }

    // dx = c dy,  c = gamma / sqrt(moving_var + eps)  (dy and dx may be one buffer)
    static void scale(const T* dy, const T* __restrict c, T* dx, std::size_t rows) {
        for (std::size_t i = 0; i < rows; ++i, dy += N, dx += N)
            for (std::size_t j = 0; j < N; ++j) dx[j] = c[j] * dy[j];
    }

    void update_moving_statistics() {
        if (!zero_debias) {
            for (std::size_t j = 0; j < N; ++j) {  // moving = momentum moving + (1 - momentum) batch
                moving_mean(j) = momentum * moving_mean(j) + (T(1) - momentum) * mean_[j];
                moving_variance(j) = momentum * moving_variance(j) + (T(1) - momentum) * var_[j];
            }
            return;
        }
        ++debias_steps_;  // a = momentum a + (1 - momentum) batch;  moving = a / (1 - momentum^t)
        const T correction = T(1) - static_cast<T>(std::pow(momentum, static_cast<T>(debias_steps_)));
        for (std::size_t j = 0; j < N; ++j) {
            biased_mean_(j) = momentum * biased_mean_(j) + (T(1) - momentum) * mean_[j];
            biased_variance_(j) = momentum * biased_variance_(j) + (T(1) - momentum) * var_[j];
            moving_mean(j) = biased_mean_(j) / correction;
            moving_variance(j) = biased_variance_(j) / correction;
        }
    }

    Mode mode_ = Mode::train;
    std::array<T, N> mean_{};     // mu: (N) batch mean, or the moving mean in inference
    std::array<T, N> var_{};      // var: (N) biased batch variance
    std::array<T, N> inv_std_{};  // 1 / sqrt(var + eps): (N)
    const Matrix<T>* x_ = nullptr;     // the input of the last forward: (B x N), owned upstream
    Matrix<T> y_;                      // y: (B x N)
    Matrix<T> dx_;                     // dx: (B x N)
    Vector<T> no_gradient_ = zeros<T>(N);  // what the visitor shows as the gradient of a moving statistic
    Vector<T> biased_mean_ = zeros<T>(N);      // zero-debias accumulators (Keras 2.1.5 only)
    Vector<T> biased_variance_ = zeros<T>(N);
    std::size_t debias_steps_ = 0;
    ColumnPartials<T, N> partial_{};  // per-thread column sums (see column_sums)
};

template <std::size_t N, class T>
template <class Map>
const Matrix<T>& BatchNorm<N, T>::forward(const Matrix<T>& x, Mode mode, Matrix<T>& y, Map map) {
    if (x.shape(1) != N)
        throw std::invalid_argument("layerwise: BatchNorm<" + std::to_string(N) + ">: input has " +
                                    std::to_string(x.shape(1)) + " columns, expected " + std::to_string(N));
    const std::size_t B = x.shape(0);
    require_rows(x, "BatchNorm");
    if (mode == Mode::train && B < 2)
        throw std::invalid_argument("layerwise: BatchNorm<" + std::to_string(N) +
                                    ">: train mode needs a batch of at least 2 rows, got 1 (the batch variance "
                                    "of one sample is 0, so every output would be beta)");
    mode_ = mode;
    x_ = &x;
    ensure_shape(y, B, N);
    const T* in = x.data();
    T* mu = mean_.data();
    T* var = var_.data();
    T* inv = inv_std_.data();
    if (mode == Mode::train) {
        column_sums(B, mean_, partial_, [&](std::size_t k, std::size_t) { return in[k]; });  // mu = 1/B sum_i x_i
        for (std::size_t j = 0; j < N; ++j) mu[j] /= T(B);
        column_sums(B, var_, partial_, [&](std::size_t k, std::size_t j) {  // var = 1/B sum_i (x_i - mu)^2
            const T d = in[k] - mu[j];
            return d * d;
        });
        for (std::size_t j = 0; j < N; ++j) {
            var[j] /= T(B);
            inv[j] = T(1) / std::sqrt(var[j] + epsilon);
        }
        if (track_moving_statistics) update_moving_statistics();
    } else {
        for (std::size_t j = 0; j < N; ++j) {
            mu[j] = moving_mean(j);
            inv[j] = T(1) / std::sqrt(moving_variance(j) + epsilon);
        }
    }
    T* out = y.data();
    const T* gam = gamma.data();
    const T* bet = beta.data();
    parallel_elementwise(B, N, [&](std::size_t, std::size_t first, std::size_t last) {
        normalize(in + first * N, mu, inv, gam, bet, out + first * N, last - first, map);  // y = map(gamma xhat + beta)
    });
    return y;
}

template <std::size_t N, class T>
const Matrix<T>& BatchNorm<N, T>::backward(const Matrix<T>& dy, Matrix<T>& dx_out) {
    if (x_ == nullptr) throw std::logic_error("layerwise: BatchNorm: backward called before forward");
    const std::size_t B = x_->shape(0);
    require_shape(dy, B, N, "BatchNorm backward", "dy");
    if (&dx_out != &dy) ensure_shape(dx_out, B, N);
    T* dx = dx_out.data();
    const T* g = dy.data();
    const T* x = x_->data();     // xhat is recomputed from x: storing it would cost a (B x N)
    const T* mu = mean_.data();  // buffer written in forward and read back here, every step
    const T* gam = gamma.data();
    const T* inv = inv_std_.data();
    std::array<T, N> db, dg;
    column_sums(B, db, partial_, [&](std::size_t k, std::size_t) { return g[k]; });  // dbeta = sum_i dy_i
    column_sums(B, dg, partial_, [&](std::size_t k, std::size_t j) { return g[k] * ((x[k] - mu[j]) * inv[j]); });  // dgamma = sum_i dy_i xhat_i
    std::copy(db.begin(), db.end(), dbeta.data());
    std::copy(dg.begin(), dg.end(), dgamma.data());
    std::array<T, N> c;  // gamma / (B sqrt(var + eps)) in train mode, gamma / sqrt(moving_var + eps) in inference
    const bool train = mode_ == Mode::train;
    for (std::size_t j = 0; j < N; ++j) c[j] = train ? gam[j] * inv[j] / T(B) : gam[j] * inv[j];
    parallel_elementwise(B, N, [&](std::size_t, std::size_t first, std::size_t last) {
        if (train) normalize_backward(g + first * N, x + first * N, mu, inv, c.data(), db.data(), dg.data(), T(B),
                                      dx + first * N, last - first);
        else scale(g + first * N, c.data(), dx + first * N, last - first);
    });
    return dx_out;
}

}  // namespace layerwise
