// layerwise/compose/residual.hpp — a skip connection around a block (He et al. 2016).
//
//   forward:  y  = x + F(x)                F = Sequential<Layers...>, which must map N to N
//   backward: dx = dy + F.backward(dy)     the identity path hands dy straight to x: the
//                                          reason deep residual stacks keep their gradients
//
// ResidualOf<Block> is the same around any block type (unfused.hpp puts an UnfusedSequential there).
#pragma once

#include "sequential.hpp"

namespace layerwise {

namespace detail {
// Worded as a sentence the compilers print with its numbers (sequential.hpp says how).
template <auto In>
struct residual_block_takes_ {
    template <auto Out>
    struct features_but_gives_back_ {
        static constexpr bool fits = In == Out;
        static_assert(residual_block_takes_<In>::template features_but_gives_back_<Out>::fits,
                      "layerwise: Residual<...> needs a block whose output width equals its input width, because "
                      "y = x + F(x) adds them; the name printed with this error gives both numbers");
        static constexpr bool ok = true;
    };
};
template <std::size_t In, std::size_t Out>
using residual_width_check = typename residual_block_takes_<width_arg<In>>::template features_but_gives_back_<width_arg<Out>>;
}  // namespace detail

/// y = x + F(x) around any block type F (the top of this file); Residual<Layers...> is the one
/// around a Sequential.
template <class BlockType>
class ResidualOf {
public:
    using Block = BlockType;  ///< F, the block the skip connection goes around
    using scalar_type = typename Block::scalar_type;  ///< the block's: float or double
    using Matrix = layerwise::Matrix<scalar_type>;    ///< a Matrix of scalar_type
    /// The same around the block with scalar type U.
    template <class U>
    using rebind = ResidualOf<typename Block::template rebind<U>>;
    static_assert(detail::residual_width_check<Block::in_features, Block::out_features>::ok);
    static constexpr std::size_t in_features = Block::in_features;     ///< input width, the block's
    static constexpr std::size_t out_features = Block::out_features;   ///< output width, the same
    static constexpr std::size_t parameter_count = Block::parameter_count;  ///< the block's (the addition has none)
    /// The base of its names in a network (visit.hpp); listed after its block, as Keras' Add layer.
    static constexpr std::string_view name = "add";

    /// y = x + F(x); x: (B x N) -> y: (B x N).
    const Matrix& forward(const Matrix& x, Mode mode) {
        const Matrix& fx = block.forward(x, mode);
        ensure_shape(y_, x.shape(0), x.shape(1));
        const scalar_type* a = x.data();
        const scalar_type* b = fx.data();
        scalar_type* out = y_.data();
        parallel_elementwise(x.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) out[k] = a[k] + b[k];  // y = x + F(x)
        });
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(scalar_type)

    /// dx = dy + F.backward(dy), the block's parameter gradients on the way; dy: (B x N) -> dx: (B x N).
    const Matrix& backward(const Matrix& dy) {
        require_shape(dy, y_.shape(0), y_.shape(1), "Residual backward", "dy");
        const Matrix& dfx = block.backward(dy);
        ensure_shape(dx_, dy.shape(0), dy.shape(1));
        const scalar_type* a = dy.data();
        const scalar_type* b = dfx.data();
        scalar_type* dx = dx_.data();
        parallel_elementwise(dy.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) dx[k] = a[k] + b[k];  // dx = dy + dF/dx^T dy
        });
        return dx_;
    }

    /// The parameter gradients only: the block's, which need no dx from it.
    void backward(const Matrix& dy, parameters_only_t) {
        require_shape(dy, y_.shape(0), y_.shape(1), "Residual backward", "dy");
        block.backward(dy, parameters_only);
    }

    /// Calls f(block).
    template <class F>
    void visit_children(F&& f) { f(block); }
    /// Calls nothing: the addition has no parameters of its own (the block's are visited as a child's).
    template <class F>
    void visit_parameters(F&&) {}

    Block block;  ///< F, with its parameters

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix& input_gradient() const { return dx_; }

private:
    Matrix y_;   // y: (B x N)
    Matrix dx_;  // dx: (B x N)
};

/// y = x + F(x) with F = Sequential<Layers...>.
template <class... Layers>
class Residual : public ResidualOf<Sequential<Layers...>> {
public:
    /// The same layer with scalar type U.
    template <class U>
    using rebind = Residual<typename Layers::template rebind<U>...>;
};

}  // namespace layerwise
