// layerwise/layers/activation.hpp — element-wise activations.
//
//   forward:  y  = f(x)            element by element, any width
//   backward: dx = dy * f'(x)      with f' written in terms of y, which is what we keep
//
//   ReLU     f(x) = max(x, 0)              dx = dy if y > 0 else 0   (f' is 1 or 0; a select,
//                                                                     as TF's ReluGrad)
//   Tanh     f(x) = tanh(x)                dx = dy (1 - y^2)
//   Sigmoid  f(x) = 1 / (1 + exp(-x))      dx = dy y (1 - y)
//
// Tanh and Sigmoid have f' <= 1 and f' <= 1/4: the textbook cause of vanishing
// gradients in deep stacks.
#pragma once

#include "../concepts.hpp"
#include "../parallel.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace layerwise {

/// ReLU's function for Activation: f(x) = max(x, 0).
struct relu_fn {
    static constexpr std::string_view name = "relu";  ///< Keras' name of the activation
    /// max(x, 0), written so that NaN stays NaN.
    template <class T>
    static T f(T x) { return x < T(0) ? T(0) : x; }  // written so that NaN stays NaN
    /// dx = dy where y > 0, else 0.
    template <class T>
    static T backward(T dy, T y) { return y > T(0) ? dy : T(0); }  // both loaded first: the loop vectorizes
};

/// Tanh's function for Activation: f(x) = tanh(x).
struct tanh_fn {
    static constexpr std::string_view name = "tanh";  ///< Keras' name of the activation
    /// tanh(x).
    template <class T>
    static T f(T x) { return std::tanh(x); }
    /// dx = dy (1 - y^2).
    template <class T>
    static T backward(T dy, T y) { return dy * (T(1) - y * y); }
};

/// Sigmoid's function for Activation: f(x) = 1 / (1 + exp(-x)).
struct sigmoid_fn {
    static constexpr std::string_view name = "sigmoid";  ///< Keras' name of the activation
    /// 1 / (1 + exp(-x)).
    template <class T>
    static T f(T x) { return T(1) / (T(1) + std::exp(-x)); }
    /// dx = dy y (1 - y).
    template <class T>
    static T backward(T dy, T y) { return dy * y * (T(1) - y); }
};

/// An element-wise activation layer (Keras' Activation). Fn supplies f(x) and dx from (dy, y).
template <class Fn, class T = float>
class Activation {
public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U.
    template <class U>
    using rebind = Activation<Fn, U>;
    static constexpr std::size_t in_features = any_width;   ///< any: the output has the input's width
    static constexpr std::size_t out_features = any_width;  ///< any: the output has the input's width
    static constexpr std::size_t parameter_count = 0;       ///< none
    static constexpr std::string_view name = "activation";  ///< the base of its names in a network (visit.hpp)
    static constexpr std::string_view function_name = Fn::name;  ///< "relu", "tanh" or "sigmoid"

    /// y = f(x) element by element; x: (B x N) -> y: (B x N).
    const Matrix<T>& forward(const Matrix<T>& x, Mode /*mode*/) {
        require_rows(x, Fn::name);
        ensure_shape(y_, x.shape(0), x.shape(1));
        const T* in = x.data();
        T* out = y_.data();
        const std::size_t cols = x.shape(1);
        parallel_elementwise(x.shape(0), x.shape(1), [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k) out[k] = Fn::f(in[k]);  // y = f(x)
        });
        return y_;
    }

    /// dx = dy f'(x), with f' from the output y of the last forward; dy: (B x N) -> dx: (B x N).
    const Matrix<T>& backward(const Matrix<T>& dy) {
        require_shape(dy, y_.shape(0), y_.shape(1), Fn::name, "dy");
        ensure_shape(dx_, dy.shape(0), dy.shape(1));
        const T* g = dy.data();
        const T* y = y_.data();
        T* dx = dx_.data();
        const std::size_t cols = dy.shape(1);
        parallel_elementwise(dy.shape(0), dy.shape(1), [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k) dx[k] = Fn::backward(g[k], y[k]);  // dx = dy f'(x)
        });
        return dx_;
    }

    /// Visits nothing: an activation has no parameters.
    template <class F>
    void visit_parameters(F&&) {}

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

private:
    Matrix<T> y_;   // y: (B x N), kept for f'
    Matrix<T> dx_;  // dx: (B x N)
};

using ReLU = Activation<relu_fn>;        ///< max(x, 0), in float
using Tanh = Activation<tanh_fn>;        ///< tanh(x), in float
using Sigmoid = Activation<sigmoid_fn>;  ///< 1 / (1 + exp(-x)), in float

}  // namespace layerwise
