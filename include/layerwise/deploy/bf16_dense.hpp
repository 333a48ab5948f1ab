// layerwise/deploy/bf16_dense.hpp — a Dense for inference whose weights are kept in bfloat16.
//
//   forward (inference only): y = x W + b     W: (In x Out) bfloat16, widened as it is read;
//                                             x, b, y and the sums in float (bf16.hpp)
//
// What to_bf16 (to_bf16.hpp) puts in place of each Dense of a trained, frozen network: half
// the weight bytes, so a batch-1 inference that reads them all takes about half the time. It
// has no backward and no trainable parameters: training happens on the float network, and a
// bf16 network is made from it for deployment. Train mode or backward throws.
#pragma once

#include "../concepts.hpp"
#include "../layers/dense.hpp"
#include "bf16.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

/// A Dense<In, Out> for inference with W in bfloat16 (the top of this file).
template <std::size_t In, std::size_t Out>
class Bf16Dense {
public:
    using scalar_type = float;  ///< inputs, outputs and sums are float
    /// A float-only layer: rebinding it to another scalar type is an error.
    template <class U>
    using rebind = Bf16Dense;
    static constexpr std::size_t in_features = In;    ///< input width
    static constexpr std::size_t out_features = Out;  ///< output width
    static constexpr std::size_t parameter_count = In * Out + Out;  ///< W and b
    static constexpr std::string_view name = "dense";  ///< named as the Dense it replaces (visit.hpp)

    /// W: (In x Out) bfloat16 bits in the kernel order: W_ij at W[bf16_position<In, Out>(i, j)]
    /// (bf16.hpp). weight(i, j) reads one.
    std::vector<std::uint16_t> W = std::vector<std::uint16_t>(In * Out);
    Vector<float> b = zeros<float>(Out);  ///< b: (Out) bias, float

    /// W rounded to bfloat16 from d's, b copied: the Dense d in half the bytes.
    void assign(const Dense<In, Out, float>& d) {
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < Out; ++j) W[bf16_position<In, Out>(i, j)] = to_bf16(d.W(i, j));
        b = d.b;
    }

    /// W_ij, widened to float.
    float weight(std::size_t i, std::size_t j) const { return from_bf16(W.at(bf16_position<In, Out>(i, j))); }

    /// y = x W + b in inference mode; x: (B x In) -> y: (B x Out).
    const Matrix<float>& forward(const Matrix<float>& x, Mode mode) {
        if (mode != Mode::inference)
            throw std::logic_error("layerwise: Bf16Dense is for inference: train the float network, then to_bf16 it");
        if (x.shape(1) != In)
            throw std::invalid_argument("layerwise: Bf16Dense<" + std::to_string(In) + ", " + std::to_string(Out) +
                                        ">: input has " + std::to_string(x.shape(1)) + " columns");
        require_rows(x, "Bf16Dense");
        ensure_shape(y_, x.shape(0), Out);
        bf16_rows_times<In, Out>(x.data(), x.shape(0), W.data(), b.data(), y_.data());  // y = x W + b
        return y_;
    }

    /// Throws: a bf16 layer has no backward.
    const Matrix<float>& backward(const Matrix<float>&) {
        throw std::logic_error("layerwise: Bf16Dense has no backward: train the float network, then to_bf16 it");
    }

    /// Calls nothing: W is not a float tensor and nothing here is trained (the float network
    /// is the one to save, load and train).
    template <class F>
    void visit_parameters(F&&) {}

    /// The output of the last forward.
    const Matrix<float>& output() const { return y_; }

private:
    Matrix<float> y_;  // y: (B x Out)
};

}  // namespace layerwise
