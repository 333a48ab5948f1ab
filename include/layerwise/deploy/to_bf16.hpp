// layerwise/deploy/to_bf16.hpp — a float network for inference with its Dense weights in bfloat16.
//
//   auto deployed = to_bf16(freeze(net));   // bf16_t<frozen_t<Net>>: each Dense a Bf16Dense
//   deployed.forward(x, Mode::inference);   // half the weight bytes to read per call
//
// Every Dense<In, Out, float>, wherever it is (in a Sequential, Repeat, Residual or ReZero), becomes
// a Bf16Dense<In, Out> with its W rounded to nearest bfloat16 and its bias kept in float; every
// other layer is copied as it is. The result is a new static type for inference only, made
// once from a trained network, as freeze (freeze.hpp) is; freezing first folds each BatchNorm
// into its Dense, so that its scale is rounded once, with the weights.
#pragma once

#include "../compose/repeat.hpp"
#include "../compose/residual.hpp"
#include "../compose/rezero.hpp"
#include "../compose/sequential.hpp"
#include "../visit.hpp"
#include "bf16_dense.hpp"

#include <cstddef>

namespace layerwise {

/// The bfloat16 form of a layer type (the top of this file): L itself but for Dense<In, Out, float>
/// and the composites that hold one.
template <class L>
struct bf16_form {
    using type = L;  ///< L itself: a layer without Dense weights
};
/// L with each Dense<In, Out, float> a Bf16Dense<In, Out>.
template <class L>
using bf16_t = typename bf16_form<L>::type;

/// A Dense in float: a Bf16Dense.
template <std::size_t In, std::size_t Out>
struct bf16_form<Dense<In, Out, float>> {
    using type = Bf16Dense<In, Out>;  ///< the bfloat16 form
};
/// A Sequential of its layers' bfloat16 forms.
template <class... L>
struct bf16_form<Sequential<L...>> {
    using type = Sequential<bf16_t<L>...>;  ///< the bfloat16 form
};
/// An UnfusedSequential of its layers' bfloat16 forms.
template <class... L>
struct bf16_form<UnfusedSequential<L...>> {
    using type = UnfusedSequential<bf16_t<L>...>;  ///< the bfloat16 form
};
/// A Residual around its layers' bfloat16 forms.
template <class... L>
struct bf16_form<Residual<L...>> {
    using type = Residual<bf16_t<L>...>;  ///< the bfloat16 form
};
/// A ResidualOf around its block's bfloat16 form.
template <class B>
struct bf16_form<ResidualOf<B>> {
    using type = ResidualOf<bf16_t<B>>;  ///< the bfloat16 form
};
/// A ReZero around its layers' bfloat16 forms.
template <class... L>
struct bf16_form<ReZero<L...>> {
    using type = ReZero<bf16_t<L>...>;  ///< the bfloat16 form
};
/// A ReZeroOf around its block's bfloat16 form.
template <class B>
struct bf16_form<ReZeroOf<B>> {
    using type = ReZeroOf<bf16_t<B>>;  ///< the bfloat16 form
};
/// A Repeat of its layers' bfloat16 forms.
template <std::size_t N, class... L>
struct bf16_form<Repeat<N, L...>> {
    using type = Repeat<N, bf16_t<L>...>;  ///< the bfloat16 form
};
/// A RepeatOf of its block's bfloat16 form.
template <std::size_t N, class B>
struct bf16_form<RepeatOf<N, B>> {
    using type = RepeatOf<N, bf16_t<B>>;  ///< the bfloat16 form
};

namespace detail {

// dst = the bfloat16 form of src, layer by layer as written (the composites' layers pair up
// one to one: the forms change no layer count).
template <class L, class D>
void bf16_into(const L& src, D& dst) {
    if constexpr (std::is_same_v<L, D>) {
        dst = src;
    } else if constexpr (requires { dst.assign(src); }) {
        dst.assign(src);  // Dense -> Bf16Dense
    } else if constexpr (requires { L::declared_size; }) {  // Sequential, UnfusedSequential
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (bf16_into(src.template layer_as_declared<I>(), dst.template layer_as_declared<I>()), ...);
        }(std::make_index_sequence<L::declared_size>{});
    } else if constexpr (requires { src.blocks; }) {  // Repeat
        for (std::size_t n = 0; n < src.blocks.size(); ++n) bf16_into(src.blocks[n], dst.blocks[n]);
    } else if constexpr (requires { src.alpha; }) {  // ReZero
        bf16_into(src.block, dst.block);
        dst.alpha = src.alpha;
    } else {  // Residual
        bf16_into(src.block, dst.block);
    }
}

}  // namespace detail

/// net for inference with every Dense's weights in bfloat16 (the top of this file): a new
/// network of type bf16_t<Net>. net is a float network, best a frozen one.
template <class Net>
bf16_t<Net> to_bf16(const Net& net) {
    static_assert(std::is_same_v<typename Net::scalar_type, float>,
                  "layerwise: to_bf16 takes a float network (bfloat16 keeps float's range with fewer digits)");
    bf16_t<Net> out;
    detail::bf16_into(net, out);
    forget_inputs(out);  // the copied layers must not point at the inputs of net's last forward
    return out;
}

}  // namespace layerwise
