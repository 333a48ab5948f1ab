// layerwise/io/onnx_layers.hpp — the ONNX form of each of the library's layers.
//
//   Dense<In, Out>        Gemm(x, kernel, bias), transB = 1: the kernel written (Out x In), as PyTorch's
//                         Linear weight, the form every exporter writes and every runtime reads (OpenCV
//                         4.6 misreads transB = 0); read also: transB = 0, alpha and beta, MatMul [+ Add]
//   BatchNorm<N>          BatchNormalization(x, gamma, beta, mean, var) epsilon and momentum as attributes
//   LayerNorm<N>          LayerNormalization(x, gamma, beta), axis -1   opset 17
//   ReLU, Tanh, Sigmoid   Relu, Tanh, Sigmoid
//   ELU, SELU, LeakyReLU  Elu (alpha), Selu (alpha, gamma), LeakyRelu (alpha)
//   GELU                  x/2 (1 + erf(x / sqrt 2)): Div, Erf, Add, Mul, Mul, as torch.onnx writes it
//                         (tanh approximation: Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul)
//   Dropout, AlphaDropout nothing (the identity at inference); read: a Dropout node, if there is one
//   Residual<F...>        F's nodes, then Add(x, F(x))
//   ReZero<F...>          F's nodes, then Mul(F(x), alpha), then Add(x, alpha F(x))
//   Sequential, Repeat    their layers' nodes in order (any composite without a form of its own)
//
// Each form writes its layer's nodes on the value x and returns the name of its output, and
// reads them back into the layer (staged: OnnxReader::commit applies them). Initializers are
// named after the parameters ("dense_3/kernel"), a layer's output after the layer ("dense_3").
#pragma once

#include "../compose/residual.hpp"
#include "../compose/rezero.hpp"
#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/dense.hpp"
#include "../layers/dropout.hpp"
#include "../layers/layer_norm.hpp"
#include "onnx_graph.hpp"

#include <cmath>
#include <string>

namespace layerwise::io {

template <class L>
std::string write_layer(OnnxWriter& w, L& layer, const std::string& x);
template <class L>
std::string read_layer(OnnxReader& r, L& layer, const std::string& x);

namespace detail {
inline bool close_to(double value, double expected, double relative = 1e-6) {
    return std::abs(value - expected) <= relative * std::abs(expected);
}
inline std::string dims_text(const std::vector<std::int64_t>& dims) {
    std::string s;
    for (std::size_t k = 0; k < dims.size(); ++k) s += (k ? " x " : "") + std::to_string(dims[k]);
    return dims.empty() ? "a scalar" : s;
}
// A vector parameter of n features at input k of node n: its values, or the error naming both.
inline std::vector<double> vector_input(const OnnxReader& r, const onnx::NodeProto& n, int k, std::string_view what,
                                        std::size_t features, const OnnxLayer& who) {
    OnnxConstant c = r.constant_input(n, k, who);
    if (c.size() != features)
        r.fail(r.node_text(n) + " has a " + std::string(what) + " of " + dims_text(c.dims) + ", " + who.text() +
               " has " + std::to_string(features) + " features");
    return std::move(c.values);
}
// The next node: op, reading x, with a scalar constant for its other input close to `expected`;
// returns its output.
inline std::string take_with_constant(OnnxReader& r, std::string_view op, const std::string& x, double expected,
                                      const OnnxLayer& who) {
    const onnx::NodeProto& n = r.take(op, x, who);
    const auto c = r.constant(r.other_input(n, x));
    if (!c || c->size() != 1 || !close_to(c->values[0], expected))
        r.fail(r.node_text(n) + " for " + who.text() + " should " + std::string(op) + " by the constant " +
               layerwise::detail::number_text(expected) + (c && c->size() == 1 ? ", not " + layerwise::detail::number_text(c->values[0]) : ""));
    return n.output(0);
}
// The next node: op, reading a and b (in either order); returns its output.
inline std::string take_binary(OnnxReader& r, std::string_view op, const std::string& a, const std::string& b,
                               const OnnxLayer& who) {
    const onnx::NodeProto& n = r.take(op, a, who);
    if (r.other_input(n, a) != b && !(a == b && r.resolve(n.input(0)) == r.resolve(n.input(1))))
        r.fail(r.node_text(n) + " for " + who.text() + " should " + std::string(op) + " '" + a + "' and '" + b + "'");
    return n.output(0);
}
}  // namespace detail

/// Dense: y = x W + b as Gemm(x, W^T, b) with transB = 1.
template <std::size_t In, std::size_t Out, class T>
struct onnx_form<Dense<In, Out, T>> {
    static std::string type() { return "Dense<" + std::to_string(In) + ", " + std::to_string(Out) + ">"; }

    static std::string write(OnnxWriter& w, Dense<In, Out, T>& d, const std::string& x) {
        const OnnxLayer me = w.enter<Dense<In, Out, T>>();
        Matrix<T> Wt = zeros<T>(Out, In);  // W^T: (Out x In), as PyTorch's Linear keeps it
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < Out; ++j) Wt(j, i) = d.W(i, j);
        const std::string W = w.initializer(me.name + "/kernel", Wt, {std::int64_t(Out), std::int64_t(In)});
        const std::string b = w.initializer(me.name + "/bias", d.b, {std::int64_t(Out)});
        onnx::NodeProto& n = w.node("Gemm", {x, W, b}, me.name, me.name);
        OnnxWriter::attribute(n, "transB", std::int64_t(1));
        return me.name;
    }

    // Gemm: y = alpha x op(B) + beta C with op(B) = B (transB = 0) or B^T (transB = 1, as PyTorch
    // writes Linear's Out x In weight); or MatMul(x, B) with an optional Add of the bias.
    static std::string read(OnnxReader& r, Dense<In, Out, T>& d, const std::string& x) {
        const OnnxLayer me = r.enter<Dense<In, Out, T>>();
        const bool matmul = r.next_is("MatMul", x);
        const onnx::NodeProto& n = r.take(matmul ? "MatMul" : "Gemm", x, me);
        if (r.resolve(n.input(0)) != x) r.fail(r.node_text(n) + " for " + me.text() + " has the data as its second input");
        const bool transB = !matmul && OnnxReader::attribute(n, "transB", std::int64_t(0)) != 0;
        if (!matmul && OnnxReader::attribute(n, "transA", std::int64_t(0)) != 0)
            r.fail(r.node_text(n) + " for " + me.text() + " transposes its input (transA = 1)");
        const double alpha = matmul ? 1.0 : OnnxReader::attribute(n, "alpha", 1.0);
        const double beta = matmul ? 1.0 : OnnxReader::attribute(n, "beta", 1.0);
        OnnxConstant B = r.constant_input(n, 1, me);
        const std::int64_t rows = B.dims.size() == 2 ? B.dims[transB ? 1 : 0] : -1;
        const std::int64_t cols = B.dims.size() == 2 ? B.dims[transB ? 0 : 1] : -1;
        if (rows != std::int64_t(In) || cols != std::int64_t(Out))
            r.fail(r.node_text(n) + " is " + (B.dims.size() == 2 ? std::to_string(rows) + " x " + std::to_string(cols)
                                                                 : "of weights " + detail::dims_text(B.dims)) +
                   ", " + me.text() + " expected");
        std::vector<double> W(In * Out);
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < Out; ++j) W[i * Out + j] = alpha * B.values[transB ? j * In + i : i * Out + j];
        std::vector<double> b(Out, 0.0);
        std::string y = n.output(0);
        if (!matmul && n.input_size() > 2 && !n.input(2).empty()) {
            b = detail::vector_input(r, n, 2, "bias", Out, me);
            for (double& v : b) v *= beta;
        } else if (matmul && r.next_is("Add", y)) {
            const onnx::NodeProto& add = r.take("Add", y, me);
            const auto c = r.constant(r.other_input(add, y));
            if (!c || c->size() != Out) r.fail(r.node_text(add) + " after the MatMul of " + me.text() + " is not its bias");
            b = c->values;
            y = add.output(0);
        }
        r.stage(d.W, W);
        r.stage(d.b, b);
        return y;
    }
};

/// BatchNorm: BatchNormalization in inference form, with its epsilon and momentum.
template <std::size_t N, class T>
struct onnx_form<BatchNorm<N, T>> {
    static std::string type() { return "BatchNorm<" + std::to_string(N) + ">"; }

    static std::string write(OnnxWriter& w, BatchNorm<N, T>& bn, const std::string& x) {
        const OnnxLayer me = w.enter<BatchNorm<N, T>>();
        const std::vector<std::int64_t> dims{std::int64_t(N)};
        onnx::NodeProto& n = w.node("BatchNormalization",
                                    {x, w.initializer(me.name + "/gamma", bn.gamma, dims),
                                     w.initializer(me.name + "/beta", bn.beta, dims),
                                     w.initializer(me.name + "/moving_mean", bn.moving_mean, dims),
                                     w.initializer(me.name + "/moving_variance", bn.moving_variance, dims)},
                                    me.name, me.name);
        OnnxWriter::attribute(n, "epsilon", double(bn.epsilon));
        OnnxWriter::attribute(n, "momentum", double(bn.momentum));  // ONNX's is Keras' convention
        return me.name;
    }

    // ONNX's momentum is the weight of the old moving average, as Keras' (PyTorch's 0.1 is
    // written as 0.9); its defaults are epsilon 1e-5 and momentum 0.9.
    static std::string read(OnnxReader& r, BatchNorm<N, T>& bn, const std::string& x) {
        const OnnxLayer me = r.enter<BatchNorm<N, T>>();
        const onnx::NodeProto& n = r.take("BatchNormalization", x, me);
        if (OnnxReader::attribute(n, "training_mode", std::int64_t(0)) != 0 || n.output_size() > 1)
            r.fail(r.node_text(n) + " for " + me.text() + " is in training mode; export the model in eval mode");
        r.stage(bn.gamma, detail::vector_input(r, n, 1, "scale", N, me));
        r.stage(bn.beta, detail::vector_input(r, n, 2, "bias", N, me));
        r.stage(bn.moving_mean, detail::vector_input(r, n, 3, "mean", N, me));
        r.stage(bn.moving_variance, detail::vector_input(r, n, 4, "variance", N, me));
        const T epsilon = T(OnnxReader::attribute(n, "epsilon", 1e-5));
        const T momentum = T(OnnxReader::attribute(n, "momentum", 0.9));
        r.later([&bn, epsilon, momentum] {
            bn.epsilon = epsilon;
            bn.momentum = momentum;
        });
        return n.output(0);
    }
};

/// LayerNorm: LayerNormalization over the last axis (opset 17).
template <std::size_t N, class T>
struct onnx_form<LayerNorm<N, T>> {
    static std::string type() { return "LayerNorm<" + std::to_string(N) + ">"; }

    static std::string write(OnnxWriter& w, LayerNorm<N, T>& ln, const std::string& x) {
        const OnnxLayer me = w.enter<LayerNorm<N, T>>();
        const std::vector<std::int64_t> dims{std::int64_t(N)};
        onnx::NodeProto& n = w.node("LayerNormalization",
                                    {x, w.initializer(me.name + "/gamma", ln.gamma, dims),
                                     w.initializer(me.name + "/beta", ln.beta, dims)},
                                    me.name, me.name);
        OnnxWriter::attribute(n, "axis", std::int64_t(-1));
        OnnxWriter::attribute(n, "epsilon", double(ln.epsilon));
        return me.name;
    }

    static std::string read(OnnxReader& r, LayerNorm<N, T>& ln, const std::string& x) {
        const OnnxLayer me = r.enter<LayerNorm<N, T>>();
        if (r.next_is("ReduceMean", x))
            r.fail(r.next_text() + " where the network has " + me.text() +
                   ": LayerNorm written as separate operators (opset < 17) is not read; export with opset 17 or "
                   "later, which writes one LayerNormalization node");
        const onnx::NodeProto& n = r.take("LayerNormalization", x, me);
        const std::int64_t axis = OnnxReader::attribute(n, "axis", std::int64_t(-1));
        if (axis != -1 && axis != 1)
            r.fail(r.node_text(n) + " for " + me.text() + " normalises over axis " + std::to_string(axis) +
                   ", not the features (-1)");
        r.stage(ln.gamma, detail::vector_input(r, n, 1, "scale", N, me));
        if (n.input_size() > 2 && !n.input(2).empty()) r.stage(ln.beta, detail::vector_input(r, n, 2, "bias", N, me));
        else r.stage(ln.beta, std::vector<double>(N, 0.0));
        const T epsilon = T(OnnxReader::attribute(n, "epsilon", 1e-5));
        r.later([&ln, epsilon] { ln.epsilon = epsilon; });
        return n.output(0);
    }
};

/// The ONNX operator of an activation function: a specialisation gives type(), op and, where
/// the function has settings, write_attributes and read_attributes.
template <class Fn>
struct onnx_activation {
    static_assert(sizeof(Fn) == 0,
                  "layerwise: this activation function has no ONNX form; specialise layerwise::io::onnx_activation<Fn> "
                  "(io/onnx_layers.hpp shows how)");
};
template <>
struct onnx_activation<relu_fn> {
    static constexpr std::string_view type = "ReLU", op = "Relu";
};
template <>
struct onnx_activation<tanh_fn> {
    static constexpr std::string_view type = "Tanh", op = "Tanh";
};
template <>
struct onnx_activation<sigmoid_fn> {
    static constexpr std::string_view type = "Sigmoid", op = "Sigmoid";
};
template <>
struct onnx_activation<elu_fn> {
    static constexpr std::string_view type = "ELU", op = "Elu";
    static void write_attributes(onnx::NodeProto& n, const elu_fn& fn) { OnnxWriter::attribute(n, "alpha", fn.alpha); }
    static void read_attributes(OnnxReader& r, const onnx::NodeProto& n, elu_fn& fn, const OnnxLayer&) {
        const double alpha = OnnxReader::attribute(n, "alpha", 1.0);
        r.later([&fn, alpha] { fn.alpha = alpha; });
    }
};
template <>
struct onnx_activation<selu_fn> {
    static constexpr std::string_view type = "SELU", op = "Selu";
    static void write_attributes(onnx::NodeProto& n, const selu_fn&) {
        OnnxWriter::attribute(n, "alpha", selu_fn::alpha);
        OnnxWriter::attribute(n, "gamma", selu_fn::scale);
    }
    // SELU's constants are fixed (they make its fixed point); another pair is another function.
    static void read_attributes(OnnxReader& r, const onnx::NodeProto& n, selu_fn&, const OnnxLayer& who) {
        const double alpha = OnnxReader::attribute(n, "alpha", selu_fn::alpha);
        const double gamma = OnnxReader::attribute(n, "gamma", selu_fn::scale);
        if (!detail::close_to(alpha, selu_fn::alpha) || !detail::close_to(gamma, selu_fn::scale))
            r.fail(r.node_text(n) + " has alpha " + layerwise::detail::number_text(alpha) + " and gamma " + layerwise::detail::number_text(gamma) + ", " +
                   who.text() + " has SELU's fixed 1.6733 and 1.0507");
    }
};
template <>
struct onnx_activation<leaky_relu_fn> {
    static constexpr std::string_view type = "LeakyReLU", op = "LeakyRelu";
    static void write_attributes(onnx::NodeProto& n, const leaky_relu_fn& fn) { OnnxWriter::attribute(n, "alpha", fn.slope); }
    static void read_attributes(OnnxReader& r, const onnx::NodeProto& n, leaky_relu_fn& fn, const OnnxLayer&) {
        const double slope = OnnxReader::attribute(n, "alpha", 0.01);
        r.later([&fn, slope] { fn.slope = slope; });
    }
};

/// An activation: its operator (onnx_activation<Fn>), or GELU's formula as element-wise nodes
/// (ONNX has no Gelu operator before opset 20).
template <class Fn, class T>
struct onnx_form<Activation<Fn, T>> {
    using L = Activation<Fn, T>;
    static std::string type() {
        if constexpr (std::is_same_v<Fn, gelu_fn>) return "GELU";
        else return std::string(onnx_activation<Fn>::type);
    }

    static std::string write(OnnxWriter& w, L& a, const std::string& x) {
        const OnnxLayer me = w.enter<L>();
        if constexpr (std::is_same_v<Fn, gelu_fn>) {
            return write_gelu(w, a.fn, x, me.name);
        } else {
            onnx::NodeProto& n = w.node(onnx_activation<Fn>::op, {x}, me.name, me.name);
            if constexpr (requires { onnx_activation<Fn>::write_attributes(n, a.fn); })
                onnx_activation<Fn>::write_attributes(n, a.fn);
            return me.name;
        }
    }

    static std::string read(OnnxReader& r, L& a, const std::string& x) {
        const OnnxLayer me = r.enter<L>();
        if constexpr (std::is_same_v<Fn, gelu_fn>) {
            return read_gelu(r, a.fn, x, me);
        } else {
            const onnx::NodeProto& n = r.take(onnx_activation<Fn>::op, x, me);
            if constexpr (requires { onnx_activation<Fn>::read_attributes(r, n, a.fn, me); })
                onnx_activation<Fn>::read_attributes(r, n, a.fn, me);
            return n.output(0);
        }
    }

private:
    // erf:  y = (x (erf(x / sqrt 2) + 1)) 0.5
    // tanh: y = (x (tanh((x + kappa x x x) sqrt(2 / pi)) + 1)) 0.5
    static std::string write_gelu(OnnxWriter& w, const gelu_fn& fn, const std::string& x, const std::string& name) {
        const std::string one = w.constant(name + "/one", 1.0), half = w.constant(name + "/half", 0.5);
        std::string inner;
        if (!fn.tanh_approximation) {
            const std::string sqrt2 = w.constant(name + "/sqrt2", 1.0 / gelu_fn::sqrt_half);
            w.node("Div", {x, sqrt2}, name + "/scaled", name + "/scaled");
            w.node("Erf", {name + "/scaled"}, name + "/erf", name + "/erf");
            inner = name + "/erf";
        } else {
            const std::string kappa = w.constant(name + "/kappa", gelu_fn::kappa);
            const std::string s = w.constant(name + "/sqrt_2_over_pi", gelu_fn::sqrt_2_over_pi);
            w.node("Mul", {x, x}, name + "/x2", name + "/x2");
            w.node("Mul", {x, name + "/x2"}, name + "/x3", name + "/x3");
            w.node("Mul", {name + "/x3", kappa}, name + "/kx3", name + "/kx3");
            w.node("Add", {x, name + "/kx3"}, name + "/u0", name + "/u0");
            w.node("Mul", {name + "/u0", s}, name + "/u", name + "/u");
            w.node("Tanh", {name + "/u"}, name + "/tanh", name + "/tanh");
            inner = name + "/tanh";
        }
        w.node("Add", {inner, one}, name + "/plus1", name + "/plus1");
        w.node("Mul", {x, name + "/plus1"}, name + "/x_times", name + "/x_times");
        w.node("Mul", {name + "/x_times", half}, name, name);
        return name;
    }

    static std::string read_gelu(OnnxReader& r, gelu_fn& fn, const std::string& x, const OnnxLayer& me) {
        const bool tanh = r.next_is("Mul", x);
        std::string inner;
        if (!tanh) {
            const std::string scaled = detail::take_with_constant(r, "Div", x, 1.0 / gelu_fn::sqrt_half, me);
            inner = r.take("Erf", scaled, me).output(0);
        } else {
            const std::string x2 = detail::take_binary(r, "Mul", x, x, me);
            const std::string x3 = detail::take_binary(r, "Mul", x2, x, me);
            const std::string kx3 = detail::take_with_constant(r, "Mul", x3, gelu_fn::kappa, me);
            const std::string u0 = detail::take_binary(r, "Add", kx3, x, me);
            const std::string u = detail::take_with_constant(r, "Mul", u0, gelu_fn::sqrt_2_over_pi, me);
            inner = r.take("Tanh", u, me).output(0);
        }
        const std::string plus1 = detail::take_with_constant(r, "Add", inner, 1.0, me);
        const std::string times = detail::take_binary(r, "Mul", plus1, x, me);
        const std::string y = detail::take_with_constant(r, "Mul", times, 0.5, me);
        r.later([&fn, tanh] { fn.tanh_approximation = tanh; });
        return y;
    }
};

/// Dropout and AlphaDropout: the identity at inference, so no node; a Dropout node (as a
/// training-mode export writes it) is read as this layer.
template <class D>
struct onnx_dropout_form {
    static std::string type() { return std::string(KerasNaming::type<D>()); }
    static std::string write(OnnxWriter& w, D&, const std::string& x) {
        w.enter<D>();
        return x;
    }
    static std::string read(OnnxReader& r, D&, const std::string& x) {
        const OnnxLayer me = r.enter<D>();
        return r.next_is("Dropout", x) ? r.take("Dropout", x, me).output(0) : x;
    }
};
template <class T>
struct onnx_form<Dropout<T>> : onnx_dropout_form<Dropout<T>> {};
template <class T>
struct onnx_form<AlphaDropout<T>> : onnx_dropout_form<AlphaDropout<T>> {};

/// Residual: the block's nodes, then Add(x, F(x)).
template <class Block>
struct onnx_form<ResidualOf<Block>> {
    static std::string type() { return "Residual"; }
    static std::string write(OnnxWriter& w, ResidualOf<Block>& res, const std::string& x) {
        const std::string fx = write_layer(w, res.block, x);
        const OnnxLayer me = w.enter<ResidualOf<Block>>();
        w.node("Add", {x, fx}, me.name, me.name);
        return me.name;
    }
    static std::string read(OnnxReader& r, ResidualOf<Block>& res, const std::string& x) {
        const std::string fx = read_layer(r, res.block, x);
        const OnnxLayer me = r.enter<ResidualOf<Block>>();
        return detail::take_binary(r, "Add", fx, x, me);
    }
};
template <class... L>
struct onnx_form<Residual<L...>> : onnx_form<ResidualOf<Sequential<L...>>> {};

/// ReZero: the block's nodes, then Mul(F(x), alpha) and Add(x, alpha F(x)).
template <class Block>
struct onnx_form<ReZeroOf<Block>> {
    static std::string type() { return "ReZero"; }
    static std::string write(OnnxWriter& w, ReZeroOf<Block>& rz, const std::string& x) {
        const std::string fx = write_layer(w, rz.block, x);
        const OnnxLayer me = w.enter<ReZeroOf<Block>>();
        const std::string alpha = w.initializer(me.name + "/alpha", rz.alpha, {1});
        w.node("Mul", {fx, alpha}, me.name + "/gated", me.name + "/gated");
        w.node("Add", {x, me.name + "/gated"}, me.name, me.name);
        return me.name;
    }
    static std::string read(OnnxReader& r, ReZeroOf<Block>& rz, const std::string& x) {
        const std::string fx = read_layer(r, rz.block, x);
        const OnnxLayer me = r.enter<ReZeroOf<Block>>();
        const onnx::NodeProto& mul = r.take("Mul", fx, me);
        const auto alpha = r.constant(r.other_input(mul, fx));
        if (!alpha || alpha->size() != 1)
            r.fail(r.node_text(mul) + " for " + me.text() + " should multiply by the one-element gate alpha");
        r.stage(rz.alpha, alpha->values);
        return detail::take_binary(r, "Add", mul.output(0), x, me);
    }
};
template <class... L>
struct onnx_form<ReZero<L...>> : onnx_form<ReZeroOf<Sequential<L...>>> {};

/// Writes layer's nodes on x: its form's, or a composite's children in order; returns y's name.
template <class L>
std::string write_layer(OnnxWriter& w, L& layer, const std::string& x) {
    static_assert(HasOnnxForm<L> || (CompositeLayer<L> && !LeafLayer<L>),
                  "layerwise: ONNX: a layer type has no ONNX form; specialise layerwise::io::onnx_form<YourLayer> "
                  "(io/onnx_graph.hpp says how)");
    if constexpr (HasOnnxForm<L>) {
        return onnx_form<L>::write(w, layer, x);
    } else if constexpr (CompositeLayer<L> && !LeafLayer<L>) {
        std::string h = x;
        layer.visit_children([&](auto& child) { h = write_layer(w, child, h); });
        return h;
    } else {
        return x;  // not reached: the static_assert above has stopped the compilation
    }
}

/// Reads layer from the nodes that follow x: its form's, or a composite's children in order.
template <class L>
std::string read_layer(OnnxReader& r, L& layer, const std::string& x) {
    static_assert(HasOnnxForm<L> || (CompositeLayer<L> && !LeafLayer<L>),
                  "layerwise: ONNX: a layer type has no ONNX form; specialise layerwise::io::onnx_form<YourLayer> "
                  "(io/onnx_graph.hpp says how)");
    if constexpr (HasOnnxForm<L>) {
        return onnx_form<L>::read(r, layer, x);
    } else if constexpr (CompositeLayer<L> && !LeafLayer<L>) {
        std::string h = x;
        layer.visit_children([&](auto& child) { h = read_layer(r, child, h); });
        return h;
    } else {
        return x;  // not reached: the static_assert above has stopped the compilation
    }
}

}  // namespace layerwise::io
