// layerwise/compose/rezero.hpp — a skip connection with a trainable gate on its block,
// initialised at zero (Bachlechner et al. 2020, "ReZero is all you need").
//
//   forward:  y      = x + alpha F(x)                  F = Sequential<Layers...>, which must map N
//                                                      to N; alpha a scalar, 0 at initialisation
//   backward: dalpha = sum_ij dy_ij F(x)_ij
//             dx     = dy + F.backward(alpha dy)       F's parameter gradients on the way
//
// At alpha = 0 the layer is exactly the identity, so a deep stack of them starts as the identity
// map and its gradients reach every layer unchanged; F's own parameters get zero gradients until
// alpha moves away from 0, which its gradient makes it do at the first step. The layer is both a
// composite (it visits F as its child) and a leaf with one parameter, "alpha" (visit.hpp walks F
// first, then it).
//
// ReZeroOf<Block> is the same around any block type.
#pragma once

#include "sequential.hpp"

#include <array>
#include <stdexcept>

namespace layerwise {

namespace detail {
// Worded as a sentence the compilers print with its numbers (sequential.hpp says how).
template <auto In>
struct rezero_block_takes_ {
    template <auto Out>
    struct features_but_gives_back_ {
        static constexpr bool fits = In == Out;
        static_assert(rezero_block_takes_<In>::template features_but_gives_back_<Out>::fits,
                      "layerwise: ReZero<...> needs a block whose output width equals its input width, because "
                      "y = x + alpha F(x) adds them; the name printed with this error gives both numbers");
        static constexpr bool ok = true;
    };
};
template <std::size_t In, std::size_t Out>
using rezero_width_check = typename rezero_block_takes_<width_arg<In>>::template features_but_gives_back_<width_arg<Out>>;
}  // namespace detail

/// y = x + alpha F(x) around any block type F (the top of this file); ReZero<Layers...> is the one
/// around a Sequential.
template <class BlockType>
class ReZeroOf {
public:
    using Block = BlockType;  ///< F, the block the gated skip connection goes around
    using scalar_type = typename Block::scalar_type;  ///< the block's: float or double
    using Matrix = layerwise::Matrix<scalar_type>;    ///< a Matrix of scalar_type
    /// The same around the block with scalar type U.
    template <class U>
    using rebind = ReZeroOf<typename Block::template rebind<U>>;
    static_assert(detail::rezero_width_check<Block::in_features, Block::out_features>::ok);
    static constexpr std::size_t in_features = Block::in_features;     ///< input width, the block's
    static constexpr std::size_t out_features = Block::out_features;   ///< output width, the same
    static constexpr std::size_t parameter_count = Block::parameter_count + 1;  ///< the block's and alpha
    static constexpr std::string_view name = "rezero";  ///< the base of its names in a network (visit.hpp)

    Block block;  ///< F, with its parameters
    Vector<scalar_type> alpha = zeros<scalar_type>(1);   ///< alpha: (1) the gate, trainable, 0 at initialisation
    Vector<scalar_type> dalpha = zeros<scalar_type>(1);  ///< (1) dLoss/dalpha of the last backward

    /// y = x + alpha F(x); x: (B x N) -> y: (B x N).
    const Matrix& forward(const Matrix& x, Mode mode) {
        const Matrix& fx = block.forward(x, mode);
        fx_ = &fx;
        ensure_shape(y_, x.shape(0), x.shape(1));
        const scalar_type* a = x.data();
        const scalar_type* b = fx.data();
        const scalar_type gate = alpha(0);
        scalar_type* out = y_.data();
        parallel_elementwise(x.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) out[k] = a[k] + gate * b[k];  // y = x + alpha F(x)
        });
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(scalar_type)

    /// dalpha = sum(dy F(x)), then dx = dy + F.backward(alpha dy), F's parameter gradients on the
    /// way; dy: (B x N) -> dx: (B x N).
    const Matrix& backward(const Matrix& dy) {
        const Matrix& dfx = block.backward(gated_gradient(dy));
        ensure_shape(dx_, dy.shape(0), dy.shape(1));
        const scalar_type* a = dy.data();
        const scalar_type* b = dfx.data();
        scalar_type* dx = dx_.data();
        parallel_elementwise(dy.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) dx[k] = a[k] + b[k];  // dx = dy + dF/dx^T (alpha dy)
        });
        return dx_;
    }

    /// The parameter gradients only: dalpha and the block's, which need no dx from it.
    void backward(const Matrix& dy, parameters_only_t) { block.backward(gated_gradient(dy), parameters_only); }

    /// Drops the reference to the block's last output (a copy of this layer would otherwise
    /// point into the original's block); backward then throws until the next forward.
    /// forget_inputs(net) and freeze(net) call it with the leaf layers'.
    void forget_input() { fx_ = nullptr; }

    /// Calls f(block).
    template <class F>
    void visit_children(F&& f) { f(block); }
    /// Calls f(name, value, gradient, trainable, Initializer) for alpha (the block's parameters
    /// are visited as a child's).
    template <class F>
    void visit_parameters(F&& f) { f("alpha", alpha, dalpha, true, Initializer::zeros); }

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix& input_gradient() const { return dx_; }

private:
    // dalpha = sum(dy F(x)) (before F's backward, which may reuse its buffers), and alpha dy,
    // the gradient F gets.
    const Matrix& gated_gradient(const Matrix& dy) {
        if (fx_ == nullptr) throw std::logic_error("layerwise: ReZero: backward called before forward");
        require_shape(dy, y_.shape(0), y_.shape(1), "ReZero backward", "dy");
        const scalar_type* g = dy.data();
        const scalar_type* fx = fx_->data();
        std::array<scalar_type, 1> sum;  // the sum of every element: the column sum of dy F(x) as (B N x 1)
        column_sums(dy.size(), sum, partial_, [&](std::size_t k, std::size_t) { return g[k] * fx[k]; });
        dalpha(0) = sum[0];
        ensure_shape(gated_dy_, dy.shape(0), dy.shape(1));
        const scalar_type gate = alpha(0);
        scalar_type* out = gated_dy_.data();
        parallel_elementwise(dy.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) out[k] = gate * g[k];  // alpha dy
        });
        return gated_dy_;
    }

    const Matrix* fx_ = nullptr;  // F(x) of the last forward: (B x N), the block's own buffer
    Matrix y_;                    // y: (B x N)
    Matrix dx_;                   // dx: (B x N)
    Matrix gated_dy_;             // alpha dy: (B x N), the gradient F's backward gets
    ColumnPartials<scalar_type, 1> partial_{};  // per-thread partial sums for dalpha
};

/// y = x + alpha F(x) with F = Sequential<Layers...>.
template <class... Layers>
class ReZero : public ReZeroOf<Sequential<Layers...>> {
public:
    /// The same layer with scalar type U.
    template <class U>
    using rebind = ReZero<typename Layers::template rebind<U>...>;
};

}  // namespace layerwise
