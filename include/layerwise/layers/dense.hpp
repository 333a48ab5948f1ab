// layerwise/layers/dense.hpp — the fully connected layer.
//
//   forward:  y  = x W + b                 x: (B x In), W: (In x Out), b: (Out), y: (B x Out)
//   backward: dW = x^T dy                  (In x Out)
//             db = sum over the batch of dy (Out)
//             dx = dy W^T                  (B x In)
//
// x may be a Matrix or a MatrixView of memory the user lends: forward reads it in place
// (one GEMM on its data pointer) and keeps that pointer for dW = x^T dy, so no copy is made.
// A batch of 1 to 8 rows goes to few_rows_times (small_gemm.hpp), which keeps its sums in
// registers; more rows go to BLAS.
//
// The bias is added inside the GEMM's output pass: y is filled with b and the GEMM runs with
// beta = 1, so its kernel adds x W to b as it stores y. That fill takes the place of the pass
// in which BLAS itself would zero y for beta = 0.
#pragma once

#include "../concepts.hpp"
#include "../gemm.hpp"
#include "../init.hpp"
#include "../parallel.hpp"
#include "../small_gemm.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace layerwise {

/// The fully connected layer: y = x W + b (the top of this file).
template <std::size_t In, std::size_t Out, class T = float>
class Dense {
    static_assert(In > 0 && Out > 0, "layerwise: Dense<In, Out> needs In > 0 and Out > 0");

public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U.
    template <class U>
    using rebind = Dense<In, Out, U>;
    static constexpr std::size_t in_features = In;    ///< input width
    static constexpr std::size_t out_features = Out;  ///< output width
    static constexpr std::size_t parameter_count = In * Out + Out;  ///< W and b
    static constexpr std::string_view name = "dense";  ///< the base of its names in a network (visit.hpp)

    Matrix<T> W = zeros<T>(In, Out);   ///< W: (In x Out)  kernel
    Vector<T> b = zeros<T>(Out);       ///< b: (Out)       bias
    Matrix<T> dW = zeros<T>(In, Out);  ///< dW: (In x Out) dLoss/dW of the last backward
    Vector<T> db = zeros<T>(Out);      ///< db: (Out)      dLoss/db of the last backward

    /// W from glorot_uniform, b = 0, as init(layer, default_init_seed) gives (init.hpp).
    Dense() { init(*this, default_init_seed); }

    /// y = x W + b; x: (B x In) -> y: (B x Out). x must stay alive and unchanged until backward.
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) { return forward(MatrixView<T>(x), mode); }

    /// The same on memory the user lends, read in place (no copy): the GEMM needs only the
    /// data pointer and the shape. The memory must stay alive and unchanged until backward.
    const Matrix<T>& forward(MatrixView<T> x, Mode /*mode*/) {
        const std::size_t batch = keep_input(x);
        ensure_shape(y_, batch, Out);
        if (batch <= few_rows_max) {
            few_rows_times<In, Out>(x.data(), batch, W.data(), nullptr, b.data(), y_.data());  // y = x W + b
            return y_;
        }
        parallel_rows(batch, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t i = first; i < last; ++i)  // y = b in every row ...
                std::copy(b.data(), b.data() + Out, y_.data() + i * Out);
            gemm_rows(x.data(), batch, In, false, W, false, y_, first, last, T(1), T(1));  // ... then y += x W
        });
        return y_;
    }

    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)

    /// dx = dy W^T, and dW = x^T dy, db = the column sums of dy; dy: (B x Out) -> dx: (B x In).
    const Matrix<T>& backward(const Matrix<T>& dy) {
        backward(dy, parameters_only);
        ensure_shape(dx_, dy.shape(0), In);
        gemm(dy, false, W, true, dx_);  // dx = dy W^T
        return dx_;
    }

    /// dW and db only (the first layer of a network in training: nothing needs its dx).
    void backward(const Matrix<T>& dy, parameters_only_t) {
        if (x_ == nullptr) throw std::logic_error("layerwise: Dense: backward called before forward");
        const std::size_t batch = x_rows_;
        require_shape(dy, batch, Out, "Dense backward", "dy");
        gemm(x_, batch, In, true, dy, false, dW);  // dW = x^T dy
        const T* g = dy.data();
        std::array<T, Out> sums;
        column_sums(batch, sums, partial_, [&](std::size_t k, std::size_t) { return g[k]; });  // db = column sums of dy
        std::copy(sums.begin(), sums.end(), db.data());
    }

    /// Drops the reference to the last input (its owner is about to destroy it); backward
    /// then throws until the next forward.
    void forget_input() {
        x_ = nullptr;
        x_rows_ = 0;
    }

    /// Calls f(name, value, gradient, trainable, Initializer) for W ("kernel") and b ("bias").
    template <class F>
    void visit_parameters(F&& f) {
        f("kernel", W, dW, true, Initializer::kernel);
        f("bias", b, db, true, Initializer::zeros);
    }

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const auto& input_gradient() const { return dx_; }
    /// Where the input of the last forward lives (null before forward and after forget_input),
    /// for diagnostics: a view's data pointer itself when the input was read in place.
    const T* input_data() const { return x_; }

private:
    // Checks x and keeps it for backward (dW = x^T dy); returns its rows, B.
    std::size_t keep_input(MatrixView<T> x) {
        require_rows(x, "Dense");
        if (x.cols() != In)
            throw std::invalid_argument("layerwise: Dense<" + std::to_string(In) + ", " + std::to_string(Out) +
                                        ">: input has " + std::to_string(x.cols()) + " columns, expected " +
                                        std::to_string(In));
        x_ = x.data();
        x_rows_ = x.rows();
        return x_rows_;
    }

    const T* x_ = nullptr;          // the input of the last forward: (B x In), owned upstream
    std::size_t x_rows_ = 0;        // B of that input
    Matrix<T> y_;                   // y: (B x Out)
    Matrix<T> dx_;                  // dx: (B x In)
    ColumnPartials<T, Out> partial_{};  // per-thread partial sums for db
};

}  // namespace layerwise
