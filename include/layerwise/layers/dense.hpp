// layerwise/layers/dense.hpp — the fully connected layer.
//
//   forward:  y  = x W + b                 x: (B x In), W: (In x Out), b: (Out), y: (B x Out)
//   backward: dW = x^T dy                  (In x Out)
//             db = sum over the batch of dy (Out)
//             dx = dy W^T                  (B x In)
//
// x may be a Matrix or a MatrixView of memory the user lends: forward reads it in place
// (one GEMM on its data pointer) and keeps that pointer for dW = x^T dy, so no copy is made.
// A batch of 1 to 4 rows goes to few_rows_times (small_gemm.hpp), which reads W once; more
// rows go to BLAS.
//
// The bias is added inside the GEMM's output pass: y is filled with b and the GEMM runs with
// beta = 1, so its kernel adds x W to b as it stores y. That fill takes the place of the pass
// in which BLAS itself would zero y for beta = 0; the forward GEMMs of the 25-layer net take
// the same time either way (within 1%, issue 13).
//
//   folded:   y  = (x W) a + c             a, c: (Out), a BatchNorm in inference folded into
//                                          this layer (compose/fusion.hpp); b is inside c
#pragma once

#include "../concepts.hpp"
#include "../gemm.hpp"
#include "../parallel.hpp"
#include "../small_gemm.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace layerwise {

template <std::size_t In, std::size_t Out, class T = float>
class Dense {
    static_assert(In > 0 && Out > 0, "layerwise: Dense<In, Out> needs In > 0 and Out > 0");

public:
    using scalar_type = T;
    template <class U>
    using rebind = Dense<In, Out, U>;
    static constexpr std::size_t in_features = In;
    static constexpr std::size_t out_features = Out;
    static constexpr std::size_t parameter_count = In * Out + Out;
    static constexpr std::string_view keras_name = "dense";
    static constexpr std::string_view keras_class = "Dense";

    Matrix<T> W = zeros<T>(In, Out);   // W: (In x Out)  kernel
    Vector<T> b = zeros<T>(Out);       // b: (Out)       bias
    Matrix<T> dW = zeros<T>(In, Out);  // dW: (In x Out) dLoss/dW of the last backward
    Vector<T> db = zeros<T>(Out);      // db: (Out)

    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) { return forward(MatrixView<T>(x), mode); }

    /// The same on memory the user lends, read in place (no copy): the GEMM needs only the
    /// data pointer and the shape. The memory must stay alive and unchanged until backward.
    const Matrix<T>& forward(MatrixView<T> x, Mode /*mode*/) {
        const std::size_t batch = keep_input(x, false);
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

    /// The folded forward (compose/fusion.hpp): y = (x W) a + c, column by column, into y,
    /// the output buffer of the BatchNorm folded into this layer (a, c: (Out), from
    /// BatchNorm::fold, which puts b into c). Keeps x for backward like forward; this layer's
    /// own output() is not formed.
    void forward_scaled(MatrixView<T> x, const T* a, const T* c, Matrix<T>& y) {
        const std::size_t batch = keep_input(x, true);
        ensure_shape(y, batch, Out);
        if (batch <= few_rows_max) return few_rows_times<In, Out>(x.data(), batch, W.data(), a, c, y.data());
        parallel_rows(batch, [&](std::size_t, std::size_t first, std::size_t last) {
            gemm_rows(x.data(), batch, In, false, W, false, y, first, last);  // y = x W, this band of rows ...
            scale_shift(y.data() + first * Out, a, c, last - first);      // ... then y a + c, while it is in cache
        });
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)

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

    template <class F>
    void visit_parameters(F&& f) {
        f("kernel", W, dW, true, Initializer::kernel);
        f("bias", b, db, true, Initializer::zeros);
    }

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    /// After a folded forward (compose/fusion.hpp) there is no output of this layer's own: output()
    /// throws std::logic_error then, instead of returning an older batch's.
    const Matrix<T>& output() const {
        if (folded_)
            throw std::logic_error("layerwise: Dense: output() after an inference forward that folded the BatchNorm "
                                   "after it into this layer, so no output of its own was formed; run that forward "
                                   "inside a layerwise::NoFusion scope");
        return y_;
    }
    const auto& input_gradient() const { return dx_; }
    /// Where the input of the last forward lives (null before forward and after forget_input),
    /// for diagnostics: a view's data pointer itself when the input was read in place.
    const T* input_data() const { return x_; }

private:
    // y = y a + c on `rows` rows of Out (the pointers do not overlap: the loop vectorizes)
    static void scale_shift(T* __restrict y, const T* __restrict a, const T* __restrict c, std::size_t rows) {
        for (std::size_t i = 0; i < rows; ++i, y += Out)
            for (std::size_t j = 0; j < Out; ++j) y[j] = y[j] * a[j] + c[j];
    }

    // Checks x and keeps it for backward (dW = x^T dy), and whether this forward is folded;
    // returns its rows, B.
    std::size_t keep_input(MatrixView<T> x, bool folded) {
        require_rows(x, "Dense");
        if (x.cols() != In)
            throw std::invalid_argument("layerwise: Dense<" + std::to_string(In) + ", " + std::to_string(Out) +
                                        ">: input has " + std::to_string(x.cols()) + " columns, expected " +
                                        std::to_string(In));
        x_ = x.data();
        x_rows_ = x.rows();
        folded_ = folded;
        return x_rows_;
    }

    const T* x_ = nullptr;          // the input of the last forward: (B x In), owned upstream
    std::size_t x_rows_ = 0;        // B of that input
    bool folded_ = false;           // the last forward was folded: y_ holds nothing of it
    Matrix<T> y_;                   // y: (B x Out)
    Matrix<T> dx_;                  // dx: (B x In)
    ColumnPartials<T, Out> partial_{};  // per-thread partial sums for db
};

}  // namespace layerwise
