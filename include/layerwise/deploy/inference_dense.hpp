// layerwise/deploy/inference_dense.hpp — a Dense for inference whose weights are kept in the
// few-row kernel's own order, in float or in bfloat16.
//
//   forward (inference only): y = x W + b     W: (In x Out) in the kernel order of Weights,
//                                             widened to float as it is read where it is
//                                             bfloat16; x, b, y and the sums in float (but
//                                             for Bf16DotDense, which rounds x to bfloat16)
//
// What to_panels, to_bf16 and to_bf16_dot (to_inference.hpp) put in place of each Dense of a
// trained, frozen network. A Dense keeps W row-major, which its training and BLAS need; a
// batch of a few rows reads it fastest in the panel order (small_gemm.hpp), each block's
// columns front to back, and in bfloat16 in half the bytes. The layer computes the Dense's
// y = x W + b, for any number of rows, with its policy's kernel (stored_weights::times), in
// passes of a few rows that each read W once. It has no backward and no trainable parameters:
// training happens on the float network, and this one is made from it for deployment. Train
// mode or backward throws.
//
//   PanelDense<In, Out>     W in float, in the panel order: the Dense's own bits for whole panels
//   Bf16Dense<In, Out>      W rounded to bfloat16, in the bfloat16 kernel order (bf16.hpp)
//   Bf16DotDense<In, Out>   W and x rounded to bfloat16, the sums in float: AVX512-BF16's dot
//                           product where the CPU has it, the same bits elsewhere (bf16_dot.hpp)
#pragma once

#include "../concepts.hpp"
#include "../layers/dense.hpp"
#include "../small_gemm.hpp"
#include "bf16.hpp"
#include "bf16_dot.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

namespace detail {
// What the layer needs beside the kernel's policy: its name and the conversion that makes it
// (for messages), W's size and a weight's place in the kernel order, its rounding to and
// widening from what W stores, and the kernel (times) with the scratch words it needs.
template <class Weights>
struct stored_weights;
template <>
struct stored_weights<PanelWeights<float>> {
    static constexpr const char* layer = "PanelDense";
    static constexpr const char* conversion = "to_panels";
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t size = In * Out;
    template <std::size_t In>
    static constexpr std::size_t scratch = 0;
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t position(std::size_t i, std::size_t j) {
        return panel_position<In, Out, float>(i, j);
    }
    static float round(float v) { return v; }
    static float widen(float v) { return v; }
    template <std::size_t In, std::size_t Out>
    static void times(const float* x, std::size_t rows, const float* W, const float* b, float* y, std::uint32_t*) {
        rows_in_passes<In, Out, false, PanelWeights<float>, float>(x, rows, W, nullptr, b, y);
    }
};
template <>
struct stored_weights<Bf16Weights> {
    static constexpr const char* layer = "Bf16Dense";
    static constexpr const char* conversion = "to_bf16";
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t size = In * Out;
    template <std::size_t In>
    static constexpr std::size_t scratch = 0;
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t position(std::size_t i, std::size_t j) {
        return bf16_position<In, Out>(i, j);
    }
    static std::uint16_t round(float v) { return to_bf16(v); }
    static float widen(std::uint16_t h) { return from_bf16(h); }
    template <std::size_t In, std::size_t Out>
    static void times(const float* x, std::size_t rows, const std::uint16_t* W, const float* b, float* y, std::uint32_t*) {
        rows_in_passes<In, Out, false, Bf16Weights, float>(x, rows, W, nullptr, b, y);
    }
};
template <>
struct stored_weights<Bf16DotWeights> {
    static constexpr const char* layer = "Bf16DotDense";
    static constexpr const char* conversion = "to_bf16_dot";
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t size = bf16_dot_size<In, Out>;
    template <std::size_t In>
    static constexpr std::size_t scratch = bf16_dot_scratch<In>;
    template <std::size_t In, std::size_t Out>
    static constexpr std::size_t position(std::size_t i, std::size_t j) {
        return bf16_dot_position<In, Out>(i, j);
    }
    static std::uint16_t round(float v) { return to_bf16_flushed(v); }
    static float widen(std::uint16_t h) { return from_bf16(h); }
    template <std::size_t In, std::size_t Out>
    static void times(const float* x, std::size_t rows, const std::uint16_t* W, const float* b, float* y,
                      std::uint32_t* scratch) {
        bf16_dot_rows_times<In, Out>(x, rows, W, b, y, scratch);
    }
};
}  // namespace detail

/// A Dense<In, Out> for inference with W in the kernel order of Weights, the kernel's policy:
/// PanelWeights<float> (small_gemm.hpp), Bf16Weights or Bf16DotWeights (the top of this file).
template <std::size_t In, std::size_t Out, class Weights>
class InferenceDense {
    using Stored = detail::stored_weights<Weights>;

public:
    using scalar_type = float;  ///< inputs, outputs and sums are float
    /// A float-only layer: rebinding it to another scalar type is an error.
    template <class U>
    using rebind = InferenceDense;
    static constexpr std::size_t in_features = In;    ///< input width
    static constexpr std::size_t out_features = Out;  ///< output width
    static constexpr std::size_t parameter_count = In * Out + Out;  ///< W and b
    static constexpr std::string_view name = "dense";  ///< named as the Dense it replaces (visit.hpp)

    /// W: (In x Out) in the kernel order: W_ij at W[position<In, Out>(i, j)] (panel_position,
    /// bf16_position or bf16_dot_position), padding zero. weight(i, j) reads one.
    std::vector<typename Weights::stored> W = std::vector<typename Weights::stored>(Stored::template size<In, Out>);
    Vector<float> b = zeros<float>(Out);  ///< b: (Out) bias, float

    /// W from d's, in the kernel order (rounded where Weights keeps fewer bits), b copied.
    void assign(const Dense<In, Out, float>& d) {
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < Out; ++j)
                W[Stored::template position<In, Out>(i, j)] = Stored::round(d.W(i, j));
        b = d.b;
    }

    /// W_ij, widened to float.
    float weight(std::size_t i, std::size_t j) const {
        return Stored::widen(W.at(Stored::template position<In, Out>(i, j)));
    }

    /// y = x W + b in inference mode; x: (B x In) -> y: (B x Out).
    const Matrix<float>& forward(const Matrix<float>& x, Mode mode) {
        if (mode != Mode::inference)
            throw std::logic_error(std::string("layerwise: ") + Stored::layer + " is for inference: train the float network, then " +
                                   Stored::conversion + " it");
        if (x.shape(1) != In)
            throw std::invalid_argument(std::string("layerwise: ") + Stored::layer + "<" + std::to_string(In) + ", " +
                                        std::to_string(Out) + ">: input has " + std::to_string(x.shape(1)) + " columns");
        require_rows(x, Stored::layer);
        ensure_shape(y_, x.shape(0), Out);
        Stored::template times<In, Out>(x.data(), x.shape(0), W.data(), b.data(), y_.data(), scratch_.data());  // y = x W + b
        return y_;
    }

    /// Throws: an inference layer has no backward.
    const Matrix<float>& backward(const Matrix<float>&) {
        throw std::logic_error(std::string("layerwise: ") + Stored::layer + " has no backward: train the float network, then " +
                               Stored::conversion + " it");
    }

    /// Calls nothing: nothing here is trained (the float network is the one to save, load and
    /// train), and W is not in a Dense's order.
    template <class F>
    void visit_parameters(F&&) {}

    /// The output of the last forward.
    const Matrix<float>& output() const { return y_; }

private:
    Matrix<float> y_;  // y: (B x Out)
    std::vector<std::uint32_t> scratch_ = std::vector<std::uint32_t>(Stored::template scratch<In>);  // the kernel's (bf16_dot_scratch)
};

/// A Dense<In, Out> for inference with W in float, in the panel order (small_gemm.hpp).
template <std::size_t In, std::size_t Out>
using PanelDense = InferenceDense<In, Out, detail::PanelWeights<float>>;

/// A Dense<In, Out> for inference with W in bfloat16 (bf16.hpp).
template <std::size_t In, std::size_t Out>
using Bf16Dense = InferenceDense<In, Out, detail::Bf16Weights>;

/// A Dense<In, Out> for inference with W and x in bfloat16, the sums in float (bf16_dot.hpp).
template <std::size_t In, std::size_t Out>
using Bf16DotDense = InferenceDense<In, Out, detail::Bf16DotWeights>;

}  // namespace layerwise
