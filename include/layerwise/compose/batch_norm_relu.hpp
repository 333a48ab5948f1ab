// layerwise/compose/batch_norm_relu.hpp — a BatchNorm followed by a ReLU, run as one layer.
//
//   forward:  y  = max(BatchNorm(x), 0)       one pass: each output is clipped as BatchNorm
//                                             stores it (BatchNorm::forward(x, mode, y, map))
//   backward: g  = dy where y > 0, else 0     ReLU's backward, into this layer's dx buffer ...
//             dx = BatchNorm.backward(g)      ... which BatchNorm's backward then overwrites in place
//
// The same operations in the same order as the two layers one after the other, so the same
// bits, with one (B x N) pass and one buffer fewer each way. Sequential uses it for every
// BatchNorm directly followed by a ReLU (fusion.hpp). A walk of the network (visit.hpp) sees
// the two layers as written, so names, parameters and settings (momentum, debiasing) are
// theirs; their own output() and input_gradient() are not formed here (the pair's are).
#pragma once

#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "fusion.hpp"

namespace layerwise {

/// A BatchNorm<N, T> followed by a ReLU as one layer: what Sequential stores for that pair.
template <std::size_t N, class T = float>
class BatchNormReLU {
public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U.
    template <class U>
    using rebind = BatchNormReLU<N, U>;
    static constexpr std::size_t in_features = N;   ///< input width
    static constexpr std::size_t out_features = N;  ///< output width, the same
    static constexpr std::size_t parameter_count = BatchNorm<N, T>::parameter_count;  ///< the BatchNorm's

    BatchNorm<N, T> first;             ///< the normalisation and its parameters
    Activation<relu_fn, T> second;     ///< the ReLU (no parameters; its buffers stay empty)

    /// y = max(BatchNorm(x), 0) in one pass; x: (B x N) -> y: (B x N).
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) {
        return first.forward(x, mode, y_, [](T v) { return relu_fn::f(v); });  // y = max(BatchNorm(x), 0)
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)

    /// ReLU's backward, then BatchNorm's in place; dy: (B x N) -> dx: (B x N).
    const Matrix<T>& backward(const Matrix<T>& dy) {
        require_shape(dy, y_.shape(0), N, "BatchNormReLU backward", "dy");
        ensure_shape(dx_, dy.shape(0), N);
        const T* g = dy.data();
        const T* y = y_.data();
        T* dx = dx_.data();
        parallel_elementwise(dy.shape(0), N, [&](std::size_t, std::size_t begin, std::size_t end) {
            for (std::size_t k = begin * N; k < end * N; ++k) dx[k] = relu_fn::backward(g[k], y[k]);  // g = dy where y > 0
        });
        return first.backward(dx_, dx_);  // dx = BatchNorm's backward on g, in place
    }

    /// Calls f(first), then f(second): a walk of the network sees the two layers as written.
    template <class F>
    void visit_children(F&& f) {
        f(first);
        f(second);
    }

    /// The output of the last forward (after the ReLU) and the input gradient of the last
    /// backward (before the BatchNorm), for diagnostics.
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

private:
    Matrix<T> y_;   // y: (B x N)
    Matrix<T> dx_;  // dx: (B x N), first the gated dy
};

/// A BatchNorm directly followed by a ReLU is stored as one BatchNormReLU.
template <std::size_t N, class T>
struct fusion<BatchNorm<N, T>, Activation<relu_fn, T>> {
    using type = BatchNormReLU<N, T>;  ///< the fused layer
};

}  // namespace layerwise
