// layerwise/compose/sequential.hpp — layers applied one after another.
//
//   forward:  h_0 = x,  h_k = layer_k(h_{k-1}),  y = h_K
//             x a Matrix, or a MatrixView of the user's memory: read in place when the first
//             layer can (Dense), else copied into a buffer of the network's (staged_input())
//   backward: g_K = dy, g_{k-1} = layer_k.backward(g_k), dx = g_0   (the chain rule, in reverse)
//             backward(dy, parameters_only) stops short of g_0: the first layer skips its dx.
//
// The layers live in a std::tuple; forward is one pack expansion over them and backward
// one over the reversed index sequence: no recursion, so a Sequential of K layers costs
// K instantiations, not K nested ones.
//
// Some adjacent pairs run as one pass (compose/fusion.hpp): in inference a Dense followed by
// a BatchNorm (the BatchNorm folds into the Dense; the fold's cache sits between the two), in
// training a BatchNorm followed by a ReLU.
#pragma once

#include "../concepts.hpp"
#include "fusion.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>

namespace layerwise {

namespace detail {

struct Link {
    std::size_t index = 0;     // the layer that does not fit (0-based), or 0 when all fit
    std::size_t produced = 0;  // the width reaching it
    std::size_t expected = 0;  // the width it takes
};

// The fold caches of a Sequential: one between each pair of adjacent layers (NoFold, empty,
// for the pairs that do not fold).
template <class Layers, class Pairs>
struct fold_slots;
template <class... Layers, std::size_t... I>
struct fold_slots<std::tuple<Layers...>, std::index_sequence<I...>> {
    using type = std::tuple<typename fold_between<std::tuple_element_t<I, std::tuple<Layers...>>,
                                                  std::tuple_element_t<I + 1, std::tuple<Layers...>>>::type...>;
};

// Whether layers I and I + 1 of the tuple are a pair of compose/fusion.hpp: a fold (inference)
// or a fusion (training).
enum class Pair { fold, fuse };
template <std::size_t I, class Tuple>
consteval bool pair_at(Pair kind) {
    if constexpr (I + 1 < std::tuple_size_v<Tuple>) {
        using A = std::tuple_element_t<I, Tuple>;
        using B = std::tuple_element_t<I + 1, Tuple>;
        return kind == Pair::fold ? folds<A, B> : fuses<A, B>;
    } else {
        return false;
    }
}

// Walks the widths from input to output; any_width layers pass the width through.
template <std::size_t K>
consteval Link first_bad_link(const std::array<std::size_t, K>& in, const std::array<std::size_t, K>& out) {
    std::size_t width = any_width;
    for (std::size_t k = 0; k < K; ++k) {
        if (in[k] != any_width && width != any_width && in[k] != width) return {k, width, in[k]};
        if (out[k] != any_width) width = out[k];
    }
    return {};
}

template <std::size_t K>
consteval std::size_t first_width(const std::array<std::size_t, K>& in, const std::array<std::size_t, K>& out) {
    for (std::size_t k = 0; k < K; ++k)
        if (in[k] != any_width || out[k] != any_width) return in[k];
    return any_width;
}

template <std::size_t K>
consteval std::size_t last_width(const std::array<std::size_t, K>& out) {
    for (std::size_t k = K; k-- > 0;)
        if (out[k] != any_width) return out[k];
    return any_width;
}

// Instantiated with the first link that does not fit, so the compiler's note names the
// layer's position and both widths: shape_mismatch<Layer, Produced, Expected>.
template <std::size_t Layer, std::size_t Produced, std::size_t Expected>
struct shape_mismatch {
    static_assert(Produced == Expected,
                  "layerwise: shape mismatch in Sequential: layer number `Layer` (0-based) takes `Expected` "
                  "features but the layers before it produce `Produced` (the compiler names all three in "
                  "shape_mismatch<Layer, Produced, Expected>)");
    static constexpr bool ok = true;
};

// Whether a layer that takes a view copies it on the way (a nested Sequential may); leaf layers do not.
template <class L>
inline constexpr bool copies_views = false;
template <class L>
    requires requires { L::copies_views; }
inline constexpr bool copies_views<L> = L::copies_views;

}  // namespace detail

template <class... Layers>
class Sequential {
    static_assert(sizeof...(Layers) > 0, "layerwise: Sequential<> needs at least one layer");
    static_assert((check_layer<Layers>() && ...));

    using First = std::tuple_element_t<0, std::tuple<Layers...>>;
    static constexpr std::size_t K = sizeof...(Layers);
    static constexpr std::array<std::size_t, K> ins_{Layers::in_features...};
    static constexpr std::array<std::size_t, K> outs_{Layers::out_features...};
    static constexpr detail::Link bad_ = detail::first_bad_link(ins_, outs_);
    static_assert(detail::shape_mismatch<bad_.index, bad_.produced, bad_.expected>::ok);

public:
    using scalar_type = typename First::scalar_type;
    static_assert((std::is_same_v<typename Layers::scalar_type, scalar_type> && ...),
                  "layerwise: all layers of a network must share one scalar type; write Net::rebind<double> "
                  "to get the whole network in double");
    template <class U>
    using rebind = Sequential<typename Layers::template rebind<U>...>;
    using Matrix = layerwise::Matrix<scalar_type>;

    static constexpr std::size_t in_features = detail::first_width(ins_, outs_);
    static constexpr std::size_t out_features = detail::last_width(outs_);
    static constexpr std::size_t parameter_count = (Layers::parameter_count + ...);
    static constexpr std::size_t size = K;

    const Matrix& forward(const Matrix& x, Mode mode) {
        require_rows(x, "forward");
        return forward_all(x, mode);
    }

    /// The same on memory the user lends (a MatrixView of a span or a pointer). When the first
    /// layer reads views in place (ViewInput: Dense), the view goes straight to it and nothing
    /// is copied. Otherwise -- the copy case -- x is copied into staged_input(), a buffer the
    /// network owns, and the network runs on that. Since which case applies depends on the
    /// first layer, treat the view as a named Matrix: alive and unchanged until backward.
    const Matrix& forward(MatrixView<scalar_type> x, Mode mode) {
        require_rows(x, "forward");
        if (in_features != any_width && x.cols() != in_features)
            throw std::invalid_argument("layerwise: forward: the input has " + std::to_string(x.cols()) +
                                        " columns, the network takes " + std::to_string(in_features));
        if constexpr (ViewInput<First>) {
            return forward_all(x, mode);
        } else {
            ensure_shape(staged_, x.rows(), x.cols());
            std::copy(x.data(), x.data() + x.size(), staged_.data());
            return forward(staged_, mode);
        }
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(scalar_type)

    /// Whether forward(MatrixView) copies its input: here (the first layer cannot read a view
    /// in place), or in a first layer that is itself a Sequential that copies.
    static constexpr bool copies_views = !ViewInput<First> || detail::copies_views<First>;
    /// The copy forward(MatrixView) made of its last input (the copy case only; else empty).
    const Matrix& staged_input() const { return staged_; }

    const Matrix& backward(const Matrix& dy) {
        const Matrix* g = &dy;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((g = backward_layer<K - 1 - I>(*g)), ...);
        }(std::make_index_sequence<K>{});
        return *g;
    }

    /// The parameter gradients only: as backward(dy), but the first layer skips its dx.
    void backward(const Matrix& dy, parameters_only_t) {
        const Matrix* g = &dy;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((g = backward_layer<K - 1 - I>(*g)), ...);
        }(std::make_index_sequence<K - 1>{});
        if constexpr (fuses_at<0>) {
            if (fused_) {
                backward_layer<0>(*g);  // (the fused pair's backward forms dx anyway)
                return;
            }
        }
        backward_parameters(std::get<0>(layers_), *g);
    }

    template <class F>
    void visit_children(F&& f) {
        std::apply([&](auto&... layer) { (f(layer), ...); }, layers_);
    }

    template <std::size_t I>
    auto& layer() { return std::get<I>(layers_); }
    template <std::size_t I>
    const auto& layer() const { return std::get<I>(layers_); }

    /// The fold cache between layers I and I + 1 (compose/fusion.hpp), for tests and diagnostics.
    template <std::size_t I>
    const auto& fold() const { return std::get<I>(folds_); }

private:
    template <std::size_t I>
    static constexpr bool folds_at = detail::pair_at<I, std::tuple<Layers...>>(detail::Pair::fold);
    template <std::size_t I>
    static constexpr bool fuses_at = detail::pair_at<I, std::tuple<Layers...>>(detail::Pair::fuse);

    // h_k = layer_k(h_{k-1}) for k = 1 .. K from h_0 = x (a Matrix, or a view when the first
    // layer reads one in place), with the pairs of compose/fusion.hpp run as one: the folds in
    // inference, the fusions in training.
    template <class X>
    const Matrix& forward_all(const X& x, Mode mode) {
        const bool fold = mode == Mode::inference && fusion_enabled();
        fused_ = mode == Mode::train && fusion_enabled();
        const Matrix* h = forward_layer<0>(x, mode, fold);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((h = forward_layer<1 + I>(*h, mode, fold)), ...);
        }(std::make_index_sequence<K - 1>{});
        return *h;
    }

    // Layer I on h. The first of a pair runs both layers; the second passes the result through.
    template <std::size_t I, class X>
    const Matrix* forward_layer(const X& h, Mode mode, bool fold) {
        auto& here = std::get<I>(layers_);
        if constexpr (folds_at<I>) {  // Dense, BatchNorm
            if (fold) return &std::get<I>(folds_).forward(here, std::get<I + 1>(layers_), MatrixView<scalar_type>(h));
        }
        if constexpr (fuses_at<I>) {  // BatchNorm, ReLU
            if (fused_) return &here.forward_relu(h, mode, std::get<I + 1>(layers_).fused_output(h.shape(0), h.shape(1)));
        }
        if constexpr (I > 0) {
            if constexpr (folds_at<I - 1>) {
                if (fold) return &h;  // computed with layer I - 1
            }
            if constexpr (fuses_at<I - 1>) {
                if (fused_) return &h;
            }
        }
        return &here.forward(h, mode);
    }

    // g_{I-1} = layer_I.backward(g_I), with the fused pairs as one.
    template <std::size_t I>
    const Matrix* backward_layer(const Matrix& g) {
        if constexpr (fuses_at<I>) {
            if (fused_) return &std::get<I>(layers_).backward_relu(g, std::get<I + 1>(layers_).output());
        }
        if constexpr (I > 0) {
            if constexpr (fuses_at<I - 1>) {
                if (fused_) return &g;  // done with layer I - 1
            }
        }
        return &std::get<I>(layers_).backward(g);
    }

    std::tuple<Layers...> layers_;
    typename detail::fold_slots<std::tuple<Layers...>, std::make_index_sequence<K - 1>>::type folds_;
    Matrix staged_;  // (B x in_features): forward(MatrixView)'s copy of its input, in the copy case
    bool fused_ = false;  // the last forward ran the training pairs fused (so does backward)
};

}  // namespace layerwise
