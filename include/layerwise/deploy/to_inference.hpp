// layerwise/deploy/to_inference.hpp — a float network for inference, with each Dense's weights
// in the few-row kernel's order, in float or in bfloat16.
//
//   auto fast = to_panels(freeze(net));     // panels_t<frozen_t<Net>>: each Dense a PanelDense
//   auto small = to_bf16(freeze(net));      // bf16_t<frozen_t<Net>>: each Dense a Bf16Dense
//   small.forward(x, Mode::inference);      // half the weight bytes to read per call
//   auto dot = to_bf16_dot(freeze(net));    // bf16_dot_t<frozen_t<Net>>: each Dense a Bf16DotDense
//
// Every Dense<In, Out, float>, wherever it is (in a Sequential, Repeat, Residual or ReZero),
// becomes an InferenceDense<In, Out, Weights> (inference_dense.hpp): a PanelDense with its W in
// the panel order, the Dense's numbers read faster by a few rows; a Bf16Dense with its W
// rounded to nearest bfloat16; or a Bf16DotDense, which rounds its inputs too, for
// AVX512-BF16's dot product (bf16_dot.hpp). Biases stay in float, and every other layer is copied as it is.
// The result is a new static type for inference only, made once from a trained network, as
// freeze (freeze.hpp) is; freezing first folds each BatchNorm into its Dense, so that to_bf16
// rounds its scale once, with the weights.
#pragma once

#include "../compose/repeat.hpp"
#include "../compose/residual.hpp"
#include "../compose/rezero.hpp"
#include "../compose/sequential.hpp"
#include "../visit.hpp"
#include "inference_dense.hpp"

#include <cstddef>

namespace layerwise {

/// The inference form of a layer type for the kernel policy Weights (the top of this file): L
/// itself but for Dense<In, Out, float> and the composites that hold one.
template <class Weights, class L>
struct inference_form {
    using type = L;  ///< L itself: a layer without Dense weights
};
/// L with each Dense<In, Out, float> an InferenceDense<In, Out, Weights>.
template <class Weights, class L>
using inference_t = typename inference_form<Weights, L>::type;
/// L with each Dense<In, Out, float> a PanelDense<In, Out>.
template <class L>
using panels_t = inference_t<detail::PanelWeights<float>, L>;
/// L with each Dense<In, Out, float> a Bf16Dense<In, Out>.
template <class L>
using bf16_t = inference_t<detail::Bf16Weights, L>;
/// L with each Dense<In, Out, float> a Bf16DotDense<In, Out>.
template <class L>
using bf16_dot_t = inference_t<detail::Bf16DotWeights, L>;

/// A Dense in float: an InferenceDense.
template <class Weights, std::size_t In, std::size_t Out>
struct inference_form<Weights, Dense<In, Out, float>> {
    using type = InferenceDense<In, Out, Weights>;  ///< the inference form
};
/// A Sequential of its layers' inference forms.
template <class Weights, class... L>
struct inference_form<Weights, Sequential<L...>> {
    using type = Sequential<inference_t<Weights, L>...>;  ///< the inference form
};
/// An UnfusedSequential of its layers' inference forms.
template <class Weights, class... L>
struct inference_form<Weights, UnfusedSequential<L...>> {
    using type = UnfusedSequential<inference_t<Weights, L>...>;  ///< the inference form
};
/// A Residual around its layers' inference forms.
template <class Weights, class... L>
struct inference_form<Weights, Residual<L...>> {
    using type = Residual<inference_t<Weights, L>...>;  ///< the inference form
};
/// A ResidualOf around its block's inference form.
template <class Weights, class B>
struct inference_form<Weights, ResidualOf<B>> {
    using type = ResidualOf<inference_t<Weights, B>>;  ///< the inference form
};
/// A ReZero around its layers' inference forms.
template <class Weights, class... L>
struct inference_form<Weights, ReZero<L...>> {
    using type = ReZero<inference_t<Weights, L>...>;  ///< the inference form
};
/// A ReZeroOf around its block's inference form.
template <class Weights, class B>
struct inference_form<Weights, ReZeroOf<B>> {
    using type = ReZeroOf<inference_t<Weights, B>>;  ///< the inference form
};
/// A Repeat of its layers' inference forms.
template <class Weights, std::size_t N, class... L>
struct inference_form<Weights, Repeat<N, L...>> {
    using type = Repeat<N, inference_t<Weights, L>...>;  ///< the inference form
};
/// A RepeatOf of its block's inference form.
template <class Weights, std::size_t N, class B>
struct inference_form<Weights, RepeatOf<N, B>> {
    using type = RepeatOf<N, inference_t<Weights, B>>;  ///< the inference form
};

namespace detail {

// dst = the inference form of src, layer by layer as written (the composites' layers pair up
// one to one: the forms change no layer count).
template <class L, class D>
void inference_into(const L& src, D& dst) {
    if constexpr (std::is_same_v<L, D>) {
        dst = src;
    } else if constexpr (requires { dst.assign(src); }) {
        dst.assign(src);  // Dense -> InferenceDense
    } else if constexpr (requires { L::declared_size; }) {  // Sequential, UnfusedSequential
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (inference_into(src.template layer_as_declared<I>(), dst.template layer_as_declared<I>()), ...);
        }(std::make_index_sequence<L::declared_size>{});
    } else if constexpr (requires { src.blocks; }) {  // Repeat
        for (std::size_t n = 0; n < src.blocks.size(); ++n) inference_into(src.blocks[n], dst.blocks[n]);
    } else if constexpr (requires { src.alpha; }) {  // ReZero
        inference_into(src.block, dst.block);
        dst.alpha = src.alpha;
    } else {  // Residual
        inference_into(src.block, dst.block);
    }
}

}  // namespace detail

/// net for inference with every Dense an InferenceDense<In, Out, Weights> (the top of this
/// file): a new network of type inference_t<Weights, Net>. net is a float network, best a
/// frozen one.
template <class Weights, class Net>
inference_t<Weights, Net> to_inference(const Net& net) {
    static_assert(std::is_same_v<typename Net::scalar_type, float>,
                  "layerwise: to_panels, to_bf16 and to_bf16_dot take a float network (their layers sum in float)");
    inference_t<Weights, Net> out;
    detail::inference_into(net, out);
    forget_inputs(out);  // the copied layers must not point at the inputs of net's last forward
    return out;
}

/// net for inference with every Dense's W in the panel order (the top of this file): a new
/// network of type panels_t<Net>, whose outputs are net's.
template <class Net>
panels_t<Net> to_panels(const Net& net) {
    return to_inference<detail::PanelWeights<float>>(net);
}

/// net for inference with every Dense's weights in bfloat16 (the top of this file): a new
/// network of type bf16_t<Net>.
template <class Net>
bf16_t<Net> to_bf16(const Net& net) {
    return to_inference<detail::Bf16Weights>(net);
}

/// net for inference with every Dense's weights in bfloat16 and its inputs rounded to bfloat16
/// as they come (bf16_dot.hpp): a new network of type bf16_dot_t<Net>.
template <class Net>
bf16_dot_t<Net> to_bf16_dot(const Net& net) {
    return to_inference<detail::Bf16DotWeights>(net);
}

}  // namespace layerwise
