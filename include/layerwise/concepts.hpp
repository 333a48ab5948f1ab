// layerwise/concepts.hpp — what a layer is.
//
// A layer is a class with
//   scalar_type                           float or double
//   in_features, out_features             widths known at compile time; any_width (0)
//                                         for layers that keep whatever width they get
//   parameter_count                       as Keras counts it (moving statistics included)
//   forward(x, mode)  -> const Matrix&    x: (batch x in)   -> y: (batch x out)
//   backward(dy)      -> const Matrix&    dy: (batch x out) -> dx: (batch x in); also
//                                         overwrites the layer's parameter gradients
//   rebind<U>                             the same layer with scalar type U
//   visit_parameters(f)                   leaf layers: f(name, value, gradient, trainable,
//                                         Initializer) for each parameter
//   backward(dy, parameters_only)         optional: the parameter gradients only, when
//                                         the caller has no use for dx (see below)
//   forward(MatrixView<T> x, mode)        optional: the input read in place from memory the
//                                         user lends (ViewInput below; Dense has it)
// The returned references point into buffers the layer owns; they stay valid until
// the layer's next forward (or backward). A layer may keep a reference to its input x
// for backward, so x must stay alive, unchanged, until backward has run: forward refuses,
// at compile time, an input that would not (LAYERWISE_FORWARD_NEEDS_NAMED_INPUT), and
// forget_input() lets code that owns a short-lived input drop the reference.
// Optional for any layer: `static constexpr std::string_view name = "dense"`, the base of
// the names it gets in a network ("dense_3"; visit.hpp). A layer without one is "layer_k".
// How a file format names layers (Keras' classes, say) is that format's business (io/).
#pragma once

#include "matrix_view.hpp"
#include "tensor.hpp"

#include <charconv>
#include <concepts>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace layerwise {

/// Which pass a forward call belongs to. BatchNorm is the layer that cares: batch
/// statistics (and a moving-average update) in train, moving statistics in inference.
enum class Mode { train, inference };

/// How a layer's parameter is initialised, as the layer declares it in visit_parameters:
///   kernel  the network's kernel initialiser (init.hpp: Glorot-uniform unless chosen otherwise),
///           with fan_in x fan_out the parameter's (rows x columns)
///   zeros   0 (biases, BatchNorm's beta and moving mean)
///   ones    1 (BatchNorm's gamma and moving variance)
enum class Initializer { kernel, zeros, ones };

/// The width of a layer that keeps its input's width (activations, width-agnostic blocks).
inline constexpr std::size_t any_width = 0;

namespace detail {
// Lets a visitor accept any of the arguments it is given (used in the concept below).
struct any_visitor {
    template <class... A>
    void operator()(A&&...) const {}
};
}  // namespace detail

// One requirement per concept, so that each can be checked by its own static_assert
// with a message that says what is missing.

/// L names its scalar type, `scalar_type`: float or double.
template <class L>
concept HasScalarType = std::floating_point<typename L::scalar_type>;

/// L states in_features, out_features and parameter_count at compile time.
template <class L>
concept HasWidths = requires {
    { L::in_features } -> std::convertible_to<std::size_t>;
    { L::out_features } -> std::convertible_to<std::size_t>;
    { L::parameter_count } -> std::convertible_to<std::size_t>;
};

/// L has `const Matrix<T>& forward(const Matrix<T>& x, Mode mode)`.
template <class L>
concept HasForward = requires(L& l, const Matrix<typename L::scalar_type>& x, Mode m) {
    { l.forward(x, m) } -> std::same_as<const Matrix<typename L::scalar_type>&>;
};

/// L has `const Matrix<T>& backward(const Matrix<T>& dy)`.
template <class L>
concept HasBackward = requires(L& l, const Matrix<typename L::scalar_type>& dy) {
    { l.backward(dy) } -> std::same_as<const Matrix<typename L::scalar_type>&>;
};

/// L has `rebind<U>`, the same layer with scalar type U.
template <class L>
concept Rebindable = requires { typename L::template rebind<double>; };

/// A leaf layer: it visits its own parameters (possibly none).
template <class L>
concept LeafLayer = requires(L& l) { l.visit_parameters(detail::any_visitor{}); };

/// A composite layer: it owns other layers and visits them in input-to-output order.
template <class L>
concept CompositeLayer = requires(L& l) { l.visit_children(detail::any_visitor{}); };

/// A layer (the top of this file): all of the above, and a leaf or a composite.
template <class L>
concept Layer = HasScalarType<L> && HasWidths<L> && HasForward<L> && HasBackward<L> &&
                Rebindable<L> && (LeafLayer<L> || CompositeLayer<L>);

/// Tag for a backward pass that needs only the parameter gradients, not dx: the first
/// layer of a network in training, whose dx would be the gradient with respect to the
/// data (for a first Dense<784, 128>, a GEMM as large as any other layer's, for nothing).
/// A layer's input_gradient() is left as it was by such a pass.
struct parameters_only_t {
    /// Explicit, so that `{}` is never taken for the tag.
    explicit parameters_only_t() = default;
};
/// The tag: layer.backward(dy, parameters_only).
inline constexpr parameters_only_t parameters_only{};

/// layer.backward(dy, parameters_only) where the layer offers it, else layer.backward(dy).
template <class L, class M>
void backward_parameters(L& layer, const M& dy) {
    if constexpr (requires { layer.backward(dy, parameters_only); }) layer.backward(dy, parameters_only);
    else layer.backward(dy);
}

/// Throws std::invalid_argument naming `who` unless m has shape (rows x cols). Layers
/// call it on the gradient handed to backward, which must match their last output.
template <class T>
void require_shape(const Matrix<T>& m, std::size_t rows, std::size_t cols, std::string_view who,
                   std::string_view what) {
    if (m.shape(0) != rows || m.shape(1) != cols)
        throw std::invalid_argument("layerwise: " + std::string(who) + ": " + std::string(what) + " has shape (" +
                                    std::to_string(m.shape(0)) + " x " + std::to_string(m.shape(1)) +
                                    "), expected (" + std::to_string(rows) + " x " + std::to_string(cols) + ")");
}

namespace detail {
/// v as the shortest text that reads back as v ("0.5", "-1e-05", "nan"), for error messages.
inline std::string number_text(double v) {
    char buffer[32];
    return {buffer, std::to_chars(buffer, buffer + sizeof buffer, v).ptr};
}
}  // namespace detail

/// What forward(x, mode) may keep a pointer to until backward: a named (lvalue) Matrix of
/// the layer's own scalar type. X is the deduced type of a forwarding reference.
template <class X, class T>
concept NamedInput = std::is_lvalue_reference_v<X> && std::same_as<std::remove_cvref_t<X>, Matrix<T>>;

namespace detail {
template <class X>
inline constexpr bool dangling_input = false;  // dependent false: the static_assert fires only when used
}  // namespace detail

/// Declares, in a layer with scalar type T, the forward overload that catches every input
/// that is not a NamedInput: a temporary Matrix, an xtensor expression, or a Matrix of another
/// scalar type (which would be converted into a temporary). Each would leave the layer
/// pointing at a destroyed matrix, and backward would compute gradients from freed memory;
/// instead it is one compile error with this message. A MatrixView<T> is let through: it
/// names the user's memory, and reaches forward(MatrixView<T>, Mode) where the layer has one.
#define LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T) LAYERWISE_FORWARD_NEEDS_NAMED_INPUT_IF(T, true)

/// The same overload, declared only where `condition` (a constant expression) holds: for a
/// layer that keeps its input in some configurations and not in others (an Activation keeps
/// x only when its function's derivative needs it).
#define LAYERWISE_FORWARD_NEEDS_NAMED_INPUT_IF(T, condition)                                                    \
    template <class X>                                                                                          \
        requires((condition) && !::layerwise::NamedInput<X, T> &&                                               \
                 !std::same_as<std::remove_cvref_t<X>, ::layerwise::MatrixView<T>>)                             \
    const ::layerwise::Matrix<T>& forward(X&&, ::layerwise::Mode) {                                             \
        static_assert(::layerwise::detail::dangling_input<X>,                                                   \
                      "layerwise: forward(x, mode) keeps a reference to x for backward, so x must be a named "  \
                      "Matrix of the network's scalar type that outlives backward: not a temporary, not an "    \
                      "xtensor expression, not a Matrix of another scalar type (it would be converted into a "  \
                      "temporary)");                                                                            \
        throw 0;                                                                                                \
    }

/// Throws std::invalid_argument naming `who` if x has no rows: a batch of 0 samples.
template <class T>
void require_rows(MatrixView<T> x, std::string_view who) {
    if (x.rows() == 0)
        throw std::invalid_argument("layerwise: " + std::string(who) + ": the batch is empty (0 rows)");
}
/// The same for a Matrix.
template <class T>
void require_rows(const Matrix<T>& x, std::string_view who) { require_rows(MatrixView<T>(x), who); }

/// A layer whose forward can read its input in place from a MatrixView of the user's memory
/// (Dense: its GEMM needs only the data pointer and the shape). Sequential hands a view
/// straight to such a first layer and copies it for any other.
template <class L>
concept ViewInput = requires(L& l, MatrixView<typename L::scalar_type> x, Mode m) {
    { l.forward(x, m) } -> std::same_as<const Matrix<typename L::scalar_type>&>;
};

/// Checks every requirement of Layer with its own readable message; instantiated by
/// the composites for each layer they hold. Always true, so it can sit in a static_assert.
template <class L>
consteval bool check_layer() {
    static_assert(HasScalarType<L>, "layerwise: a layer needs `using scalar_type = float` (or double)");
    if constexpr (HasScalarType<L>) {
        static_assert(HasWidths<L>, "layerwise: a layer needs static constexpr in_features, out_features and parameter_count");
        static_assert(HasForward<L>, "layerwise: a layer needs `const Matrix<T>& forward(const Matrix<T>& x, Mode mode)`");
        static_assert(HasBackward<L>, "layerwise: a layer needs `const Matrix<T>& backward(const Matrix<T>& dy)`");
        static_assert(Rebindable<L>, "layerwise: a layer needs `template <class U> using rebind = ...` (the same layer in scalar U)");
        static_assert(LeafLayer<L> || CompositeLayer<L>,
                      "layerwise: a layer needs either visit_parameters(f) (a leaf) or visit_children(f) "
                      "(a composite)");
    }
    return true;
}

}  // namespace layerwise
