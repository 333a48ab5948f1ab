// layerwise/layers/layer_norm.hpp — layer normalisation over the features of each sample
// (Ba, Kiros & Hinton 2016).
//
//   forward (the same in train and inference; per row i, biased variance):
//     mu_i    = 1/N sum_j x_ij                      var_i = 1/N sum_j (x_ij - mu_i)^2
//     xhat_ij = (x_ij - mu_i) / sqrt(var_i + eps)   y_ij  = gamma_j xhat_ij + beta_j
//   backward (mu_i and var_i depend on row i of x):
//     dbeta_j  = sum_i dy_ij                        dgamma_j = sum_i dy_ij xhat_ij
//     dxhat_ij = dy_ij gamma_j
//     dx_ij    = inv_std_i / N (N dxhat_ij - sum_k dxhat_ik - xhat_ij sum_k dxhat_ik xhat_ik)
//   (xhat is not stored: backward recomputes it from the input, which it keeps, like BatchNorm)
//
// eps defaults to 1e-3, Keras' LayerNormalization's; PyTorch's nn.LayerNorm uses 1e-5. Each row
// is normalised by one thread alone, and dgamma, dbeta are column sums (column_sums), so the
// results are the same bits for the same thread count.
#pragma once

#include "../concepts.hpp"
#include "../parallel.hpp"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace layerwise {

/// Layer normalisation of N features per sample (the top of this file).
template <std::size_t N, class T = float>
class LayerNorm {
    static_assert(N > 0, "layerwise: LayerNorm<N> needs N > 0");

public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U.
    template <class U>
    using rebind = LayerNorm<N, U>;
    static constexpr std::size_t in_features = N;   ///< input width
    static constexpr std::size_t out_features = N;  ///< output width, the same
    static constexpr std::size_t parameter_count = 2 * N;  ///< gamma and beta
    static constexpr std::string_view name = "layer_normalization";  ///< the base of its names in a network (visit.hpp)

    Vector<T> gamma = zeros<T>(N);   ///< gamma: (N) scale, trainable
    Vector<T> beta = zeros<T>(N);    ///< beta: (N) shift, trainable
    Vector<T> dgamma = zeros<T>(N);  ///< (N) dLoss/dgamma of the last backward
    Vector<T> dbeta = zeros<T>(N);   ///< (N) dLoss/dbeta of the last backward
    T epsilon = T(1e-3);             ///< added to the variance under the square root (Keras' default; PyTorch's is 1e-5)

    /// gamma = 1, beta = 0.
    LayerNorm() { gamma.fill(T(1)); }

    /// y = gamma xhat + beta with each row's own mean and biased variance; x: (B x N) -> y: (B x N),
    /// the same in either mode. x must stay alive and unchanged until backward.
    const Matrix<T>& forward(const Matrix<T>& x, Mode /*mode*/) {
        if (x.shape(1) != N)
            throw std::invalid_argument("layerwise: LayerNorm<" + std::to_string(N) + ">: input has " +
                                        std::to_string(x.shape(1)) + " columns, expected " + std::to_string(N));
        require_rows(x, "LayerNorm");
        const std::size_t B = x.shape(0);
        x_ = &x;
        ensure_shape(y_, B, N);
        ensure_shape(mean_, B, 1);
        ensure_shape(inv_std_, B, 1);
        const T* in = x.data();
        T* out = y_.data();
        T* mu = mean_.data();
        T* inv = inv_std_.data();
        const T* gam = gamma.data();
        const T* bet = beta.data();
        const T eps = epsilon;
        parallel_elementwise(B, N, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t i = first; i < last; ++i)
                normalize_row(in + i * N, gam, bet, eps, mu[i], inv[i], out + i * N);
        });
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)

    /// dx for dy: (B x N), and dgamma, dbeta (the top of this file).
    const Matrix<T>& backward(const Matrix<T>& dy) {
        if (x_ == nullptr) throw std::logic_error("layerwise: LayerNorm: backward called before forward");
        const std::size_t B = x_->shape(0);
        require_shape(dy, B, N, "LayerNorm backward", "dy");
        ensure_shape(dx_, B, N);
        const T* g = dy.data();
        const T* x = x_->data();  // xhat is recomputed from x, mu and inv_std
        const T* mu = mean_.data();
        const T* inv = inv_std_.data();
        const T* gam = gamma.data();
        T* dx = dx_.data();
        std::array<T, N> db, dg;
        column_sums(B, db, partial_, [&](std::size_t k, std::size_t) { return g[k]; });  // dbeta = sum_i dy_i
        column_sums(B, dg, partial_, [&](std::size_t k, std::size_t) {  // dgamma = sum_i dy_i xhat_i
            const std::size_t i = k / N;
            return g[k] * ((x[k] - mu[i]) * inv[i]);
        });
        std::copy(db.begin(), db.end(), dbeta.data());
        std::copy(dg.begin(), dg.end(), dgamma.data());
        parallel_elementwise(B, N, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t i = first; i < last; ++i)
                normalize_row_backward(g + i * N, x + i * N, gam, mu[i], inv[i], dx + i * N);
        });
        return dx_;
    }

    /// Drops the reference to the last input (see Dense::forget_input).
    void forget_input() { x_ = nullptr; }

    /// Calls f(name, value, gradient, trainable, Initializer) for gamma and beta.
    template <class F>
    void visit_parameters(F&& f) {
        f("gamma", gamma, dgamma, true, Initializer::ones);
        f("beta", beta, dbeta, true, Initializer::zeros);
    }

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

private:
    // One row of N: mu, inv_std = 1 / sqrt(var + eps), y = gamma xhat + beta.
    static void normalize_row(const T* __restrict x, const T* __restrict gamma_, const T* __restrict beta_, T eps,
                              T& mu, T& inv_std, T* __restrict y) {
        T sum = 0;
        for (std::size_t j = 0; j < N; ++j) sum += x[j];
        const T m = sum / T(N);  // mu = 1/N sum_j x_j
        T squares = 0;
        for (std::size_t j = 0; j < N; ++j) squares += (x[j] - m) * (x[j] - m);
        const T inv = T(1) / std::sqrt(squares / T(N) + eps);  // var = 1/N sum_j (x_j - mu)^2
        for (std::size_t j = 0; j < N; ++j) y[j] = gamma_[j] * ((x[j] - m) * inv) + beta_[j];  // y = gamma xhat + beta
        mu = m;
        inv_std = inv;
    }

    // One row of N: dx = inv_std / N (N dxhat - sum_k dxhat_k - xhat sum_k dxhat_k xhat_k), dxhat = dy gamma.
    static void normalize_row_backward(const T* __restrict dy, const T* __restrict x, const T* __restrict gamma_,
                                       T mu, T inv_std, T* __restrict dx) {
        T sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (std::size_t j = 0; j < N; ++j) {
            const T dxhat = dy[j] * gamma_[j];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += dxhat * ((x[j] - mu) * inv_std);
        }
        const T c = inv_std / T(N);
        for (std::size_t j = 0; j < N; ++j) {
            const T xhat = (x[j] - mu) * inv_std;
            dx[j] = c * (T(N) * (dy[j] * gamma_[j]) - sum_dxhat - xhat * sum_dxhat_xhat);
        }
    }

    const Matrix<T>* x_ = nullptr;  // the input of the last forward: (B x N), owned upstream
    Matrix<T> y_;                   // y: (B x N)
    Matrix<T> dx_;                  // dx: (B x N)
    Matrix<T> mean_;                // mu: (B x 1), each row's mean
    Matrix<T> inv_std_;             // 1 / sqrt(var + eps): (B x 1), each row's
    ColumnPartials<T, N> partial_{};  // per-thread column sums (see column_sums)
};

}  // namespace layerwise
