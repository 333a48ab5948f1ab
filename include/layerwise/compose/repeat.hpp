// layerwise/compose/repeat.hpp — N copies of one block, each with its own parameters.
//
//   forward:  h_0 = x,  h_n = block_n(h_{n-1}),  y = h_N
//   backward: g_N = dy, g_{n-1} = block_n.backward(g_n), dx = g_0
//
// The copies live in a std::array of one type and run in a loop: Repeat<50, ...>
// instantiates the block once, so a deep network compiles as fast as a shallow one.
// RepeatOf<N, Block> is the same for any block type (unfused.hpp puts an UnfusedSequential there).
#pragma once

#include "sequential.hpp"

#include <array>

namespace layerwise {

namespace detail {
// Worded as a sentence the compilers print with its numbers (sequential.hpp says how).
template <auto In>
struct repeated_block_takes_ {
    template <auto Out>
    struct features_but_gives_back_ {
        static constexpr bool fits = In == Out;
        static_assert(repeated_block_takes_<In>::template features_but_gives_back_<Out>::fits,
                      "layerwise: Repeat<N, ...> with N > 1 needs a block whose output width equals its input "
                      "width, since each copy feeds the next; the name printed with this error gives both numbers");
        static constexpr bool ok = true;
    };
};
template <std::size_t In, std::size_t Out>
using repeat_width_check = typename repeated_block_takes_<width_arg<In>>::template features_but_gives_back_<width_arg<Out>>;
}  // namespace detail

/// N copies of any block type, each with its own parameters, run one after another (the top of
/// this file); Repeat<N, Layers...> is the one of a Sequential.
template <std::size_t N, class BlockType>
class RepeatOf {
    static_assert(N > 0, "layerwise: Repeat<N, ...> needs N > 0");

public:
    using Block = BlockType;  ///< the type of each copy
    using scalar_type = typename Block::scalar_type;  ///< the block's: float or double
    using Matrix = layerwise::Matrix<scalar_type>;    ///< a Matrix of scalar_type
    /// The same with the block in scalar type U.
    template <class U>
    using rebind = RepeatOf<N, typename Block::template rebind<U>>;
    static_assert(detail::repeat_width_check<Block::in_features, (N > 1 ? Block::out_features : Block::in_features)>::ok);
    static constexpr std::size_t in_features = Block::in_features;    ///< input width, the block's
    static constexpr std::size_t out_features = Block::out_features;  ///< output width, the block's
    static constexpr std::size_t parameter_count = N * Block::parameter_count;  ///< N times the block's
    static constexpr std::size_t repeats = N;  ///< N, the number of copies

    /// Every copy initialised as init(repeat, default_init_seed) gives (init.hpp): each copy
    /// its own draws, not N equal blocks.
    RepeatOf() { init(*this, default_init_seed); }

    /// h_n = block_n(h_{n-1}) from h_0 = x; returns y = h_N.
    const Matrix& forward(const Matrix& x, Mode mode) {
        const Matrix* h = &x;
        for (auto& block : blocks) h = &block.forward(*h, mode);
        return *h;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(scalar_type)

    /// The copies' backward in reverse order from g_N = dy; returns dx = g_0.
    const Matrix& backward(const Matrix& dy) {
        const Matrix* g = &dy;
        for (std::size_t n = N; n-- > 0;) g = &blocks[n].backward(*g);
        return *g;
    }

    /// The parameter gradients only: as backward(dy), but the first copy skips its dx.
    void backward(const Matrix& dy, parameters_only_t) {
        const Matrix* g = &dy;
        for (std::size_t n = N; n-- > 1;) g = &blocks[n].backward(*g);
        blocks[0].backward(*g, parameters_only);
    }

    /// Calls f(block) for each copy, first to last.
    template <class F>
    void visit_children(F&& f) {
        for (auto& block : blocks) f(block);
    }

    std::array<Block, N> blocks;  ///< the N copies, in the order they run
};

/// N copies of Sequential<Layers...>, each with its own parameters.
template <std::size_t N, class... Layers>
class Repeat : public RepeatOf<N, Sequential<Layers...>> {
public:
    /// The same layer with scalar type U.
    template <class U>
    using rebind = Repeat<N, typename Layers::template rebind<U>...>;
};

}  // namespace layerwise
