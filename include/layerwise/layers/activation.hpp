// layerwise/layers/activation.hpp — element-wise activations.
//
//   forward:  y  = f(x)            element by element, any width
//   backward: dx = dy * f'(x)      with f' written in terms of y, which is what we keep
//                                  (GELU's cannot be: it keeps x as well, see below)
//
//   ReLU       f(x) = max(x, 0)                    dx = dy if y > 0 else 0   (f' is 1 or 0; a select,
//                                                                             as TF's ReluGrad)
//   Tanh       f(x) = tanh(x)                      dx = dy (1 - y^2)
//   Sigmoid    f(x) = 1 / (1 + exp(-x))            dx = dy y (1 - y)
//   ELU        f(x) = x if x > 0                   dx = dy if y > 0
//                     else alpha (exp(x) - 1)           else dy (y + alpha)
//   SELU       f(x) = scale x if x > 0             dx = dy scale if y > 0
//                     else scale alpha (exp(x) - 1)     else dy (y + scale alpha)
//              scale = 1.0507009873554804934193349852946, alpha = 1.6732632423543772848170429916717
//              (Klambauer et al. 2017; PyTorch's constants)
//   LeakyReLU  f(x) = x if x > 0 else slope x      dx = dy if y > 0 else slope dy
//   GELU       f(x) = x Phi(x) = x/2 (1 + erf(x / sqrt 2))     (Hendrycks & Gimpel 2016)
//              dx = dy (Phi(x) + x phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
//              or, with tanh_approximation (PyTorch's approximate='tanh'),
//              f(x) = x/2 (1 + tanh u),  u = sqrt(2/pi) (x + 0.044715 x^3)
//              dx = dy (1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
//
// Tanh and Sigmoid have f' <= 1 and f' <= 1/4: the textbook cause of vanishing
// gradients in deep stacks.
//
// A function's settings are members of the function object, which the layer holds as `fn`:
// `ELU elu; elu.fn.alpha = 0.5;`. ELU's alpha defaults to 1; LeakyReLU's slope to 0.01, as
// PyTorch's (Keras' LeakyReLU layer defaults to 0.3). ELU's and LeakyReLU's backward read the
// sign of x from the sign of y, which needs alpha >= 0 and slope >= 0: forward refuses others.
// GELU's f' is not a function of y (f is not monotonic: it falls to its minimum near x = -0.75),
// so gelu_fn declares `needs_input = true`; for such a function the layer keeps a reference to
// x, as Dense does, and calls fn.backward(dy, x, y). The others keep nothing but y.
#pragma once

#include "../concepts.hpp"
#include "../parallel.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace layerwise {

/// ReLU's function for Activation: f(x) = max(x, 0).
struct relu_fn {
    static constexpr std::string_view name = "relu";  ///< the activation's name
    /// max(x, 0), written so that NaN stays NaN.
    template <class T>
    static T f(T x) { return x < T(0) ? T(0) : x; }  // written so that NaN stays NaN
    /// dx = dy where y > 0, else 0.
    template <class T>
    static T backward(T dy, T y) { return y > T(0) ? dy : T(0); }  // both loaded first: the loop vectorizes
};

/// Tanh's function for Activation: f(x) = tanh(x).
struct tanh_fn {
    static constexpr std::string_view name = "tanh";  ///< the activation's name
    /// tanh(x).
    template <class T>
    static T f(T x) { return std::tanh(x); }
    /// dx = dy (1 - y^2).
    template <class T>
    static T backward(T dy, T y) { return dy * (T(1) - y * y); }
};

/// Sigmoid's function for Activation: f(x) = 1 / (1 + exp(-x)).
struct sigmoid_fn {
    static constexpr std::string_view name = "sigmoid";  ///< the activation's name
    /// 1 / (1 + exp(-x)).
    template <class T>
    static T f(T x) { return T(1) / (T(1) + std::exp(-x)); }
    /// dx = dy y (1 - y).
    template <class T>
    static T backward(T dy, T y) { return dy * y * (T(1) - y); }
};

/// ELU's function for Activation: f(x) = x if x > 0, else alpha (exp(x) - 1) (Clevert et al. 2015).
struct elu_fn {
    static constexpr std::string_view name = "elu";  ///< the activation's name
    double alpha = 1.0;  ///< the value f approaches as x -> -inf is -alpha; must be >= 0
    /// Throws std::invalid_argument naming alpha unless alpha >= 0 (backward reads x's sign from y's).
    void check() const {
        if (!(alpha >= 0))
            throw std::invalid_argument("layerwise: elu: alpha must be >= 0 (backward reads the sign of x from y), got " +
                                        detail::number_text(alpha));
    }
    /// x if x > 0, else alpha (exp(x) - 1); NaN stays NaN.
    template <class T>
    T f(T x) const { return x > T(0) ? x : T(alpha) * std::expm1(x); }
    /// dx = dy where y > 0, else dy (y + alpha) (= dy alpha exp(x)).
    template <class T>
    T backward(T dy, T y) const { return y > T(0) ? dy : dy * (y + T(alpha)); }
};

/// SELU's function for Activation: scale ELU_alpha(x) with the fixed constants of Klambauer et
/// al. 2017 (as PyTorch's torch.nn.SELU).
struct selu_fn {
    static constexpr std::string_view name = "selu";  ///< the activation's name
    static constexpr double scale = 1.0507009873554804934193349852946;  ///< lambda of the paper
    static constexpr double alpha = 1.6732632423543772848170429916717;  ///< alpha of the paper
    /// scale x if x > 0, else scale alpha (exp(x) - 1); NaN stays NaN.
    template <class T>
    static T f(T x) { return x > T(0) ? T(scale) * x : T(scale * alpha) * std::expm1(x); }
    /// dx = dy scale where y > 0, else dy (y + scale alpha) (= dy scale alpha exp(x)).
    template <class T>
    static T backward(T dy, T y) { return y > T(0) ? dy * T(scale) : dy * (y + T(scale * alpha)); }
};

/// LeakyReLU's function for Activation: f(x) = x if x > 0, else slope x.
struct leaky_relu_fn {
    static constexpr std::string_view name = "leaky_relu";  ///< the activation's name
    double slope = 0.01;  ///< the negative slope, PyTorch's default (Keras' LeakyReLU: 0.3); must be >= 0
    /// Throws std::invalid_argument naming slope unless slope >= 0 (backward reads x's sign from y's).
    void check() const {
        if (!(slope >= 0))
            throw std::invalid_argument(
                "layerwise: leaky_relu: slope must be >= 0 (backward reads the sign of x from y), got " +
                detail::number_text(slope));
    }
    /// x if x > 0, else slope x; NaN stays NaN.
    template <class T>
    T f(T x) const { return x < T(0) ? T(slope) * x : x; }
    /// dx = dy where y > 0, else slope dy.
    template <class T>
    T backward(T dy, T y) const { return y > T(0) ? dy : T(slope) * dy; }
};

/// GELU's function for Activation: f(x) = x Phi(x), exact (erf) or with PyTorch's tanh
/// approximation (the top of this file). Its derivative needs x, so the layer keeps x.
struct gelu_fn {
    static constexpr std::string_view name = "gelu";  ///< the activation's name
    static constexpr bool needs_input = true;  ///< backward is fn.backward(dy, x, y): f' is not a function of y
    bool tanh_approximation = false;  ///< false: x Phi(x) with erf; true: PyTorch's approximate='tanh'

    static constexpr double sqrt_half = 0.70710678118654752440;        ///< 1 / sqrt(2)
    static constexpr double inv_sqrt_2pi = 0.39894228040143267794;     ///< 1 / sqrt(2 pi)
    static constexpr double sqrt_2_over_pi = 0.79788456080286535588;   ///< sqrt(2 / pi)
    static constexpr double kappa = 0.044715;                          ///< of the tanh approximation

    /// x/2 (1 + erf(x / sqrt 2)), or x/2 (1 + tanh u) with tanh_approximation.
    template <class T>
    T f(T x) const {
        if (tanh_approximation) {
            const T u = T(sqrt_2_over_pi) * (x + T(kappa) * x * x * x);
            return T(0.5) * x * (T(1) + std::tanh(u));
        }
        return T(0.5) * x * (T(1) + std::erf(x * T(sqrt_half)));
    }
    /// dx = dy f'(x): dy (Phi(x) + x phi(x)), or the tanh approximation's derivative.
    template <class T>
    T backward(T dy, T x, T /*y*/) const {
        if (tanh_approximation) {
            const T u = T(sqrt_2_over_pi) * (x + T(kappa) * x * x * x);
            const T t = std::tanh(u);
            const T du = T(sqrt_2_over_pi) * (T(1) + T(3 * kappa) * x * x);
            return dy * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
        }
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(sqrt_half)));  // Phi(x)
        const T pdf = T(inv_sqrt_2pi) * std::exp(T(-0.5) * x * x);   // phi(x)
        return dy * (cdf + x * pdf);
    }
};

namespace detail {
// Whether Fn's backward needs x (Fn::needs_input), not only y.
template <class Fn>
inline constexpr bool activation_needs_input = false;
template <class Fn>
    requires requires { Fn::needs_input; }
inline constexpr bool activation_needs_input<Fn> = Fn::needs_input;
}  // namespace detail

/// An element-wise activation layer (Keras' Activation). Fn supplies f(x) and dx from (dy, y),
/// or from (dy, x, y) when it declares needs_input; its settings are the member fn's.
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
    static constexpr std::string_view function_name = Fn::name;  ///< "relu", "tanh", "sigmoid", "elu", ...
    /// Whether backward needs x (Fn::needs_input): forward then keeps a reference to it, as Dense does.
    static constexpr bool keeps_input = detail::activation_needs_input<Fn>;

    Fn fn{};  ///< the function, with its settings (elu_fn::alpha, leaky_relu_fn::slope, ...)

    /// y = f(x) element by element; x: (B x N) -> y: (B x N). When keeps_input, x must stay
    /// alive and unchanged until backward.
    const Matrix<T>& forward(const Matrix<T>& x, Mode /*mode*/) {
        require_rows(x, Fn::name);
        if constexpr (requires(const Fn& f) { f.check(); }) fn.check();
        if constexpr (keeps_input) x_ = &x;
        ensure_shape(y_, x.shape(0), x.shape(1));
        const T* in = x.data();
        T* out = y_.data();
        const std::size_t cols = x.shape(1);
        parallel_elementwise(x.shape(0), x.shape(1), [&](std::size_t, std::size_t first, std::size_t last) {
            const Fn f = fn;  // a copy the stores to out cannot alias: its settings stay in registers
            for (std::size_t k = first * cols; k < last * cols; ++k) out[k] = f.f(in[k]);  // y = f(x)
        });
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT_IF(T, keeps_input)

    /// dx = dy f'(x), with f' from the output y of the last forward (and its input x, when
    /// keeps_input); dy: (B x N) -> dx: (B x N).
    const Matrix<T>& backward(const Matrix<T>& dy) {
        if constexpr (keeps_input)
            if (x_ == nullptr)
                throw std::logic_error("layerwise: " + std::string(Fn::name) + ": backward called before forward");
        require_shape(dy, y_.shape(0), y_.shape(1), Fn::name, "dy");
        ensure_shape(dx_, dy.shape(0), dy.shape(1));
        const T* g = dy.data();
        const T* y = y_.data();
        T* dx = dx_.data();
        const std::size_t cols = dy.shape(1);
        if constexpr (keeps_input) {
            const T* x = x_->data();
            parallel_elementwise(dy.shape(0), dy.shape(1), [&](std::size_t, std::size_t first, std::size_t last) {
                const Fn f = fn;
                for (std::size_t k = first * cols; k < last * cols; ++k) dx[k] = f.backward(g[k], x[k], y[k]);  // dx = dy f'(x)
            });
        } else {
            parallel_elementwise(dy.shape(0), dy.shape(1), [&](std::size_t, std::size_t first, std::size_t last) {
                const Fn f = fn;
                for (std::size_t k = first * cols; k < last * cols; ++k) dx[k] = f.backward(g[k], y[k]);  // dx = dy f'(x)
            });
        }
        return dx_;
    }

    /// Drops the reference to the last input, where keeps_input (see Dense::forget_input);
    /// backward then throws until the next forward. Does nothing for the others.
    void forget_input() { x_ = nullptr; }

    /// Visits nothing: an activation has no parameters.
    template <class F>
    void visit_parameters(F&&) {}

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

private:
    const Matrix<T>* x_ = nullptr;  // the input of the last forward: (B x N), owned upstream (keeps_input only)
    Matrix<T> y_;   // y: (B x N), kept for f'
    Matrix<T> dx_;  // dx: (B x N)
};

using ReLU = Activation<relu_fn>;              ///< max(x, 0), in float
using Tanh = Activation<tanh_fn>;              ///< tanh(x), in float
using Sigmoid = Activation<sigmoid_fn>;        ///< 1 / (1 + exp(-x)), in float
using ELU = Activation<elu_fn>;                ///< x if x > 0, else alpha (exp(x) - 1), in float
using SELU = Activation<selu_fn>;              ///< scale ELU_alpha(x) (Klambauer et al. 2017), in float
using LeakyReLU = Activation<leaky_relu_fn>;   ///< x if x > 0, else slope x, in float
using GELU = Activation<gelu_fn>;              ///< x Phi(x), in float

}  // namespace layerwise
