// layerwise/compose/sequential.hpp — layers applied one after another.
//
//   forward:  h_0 = x,  h_k = layer_k(h_{k-1}),  y = h_K
//             x a Matrix, or a MatrixView of the user's memory: read in place when the first
//             layer can (Dense), else copied into a buffer of the network's (staged_input())
//   backward: g_K = dy, g_{k-1} = layer_k.backward(g_k), dx = g_0   (the chain rule, in reverse)
//             backward(dy, parameters_only) stops short of g_0: the first layer skips its dx.
//
// Adjacent layers that have a fused form (fusion.hpp: a BatchNorm followed by a ReLU) are
// stored as that one layer; the type decides, at compile time. UnfusedSequential<...> keeps
// every layer on its own (unfused.hpp makes it from a Sequential). layer<I>() is the I-th layer
// as stored; layer_as_declared<I>() the I-th as written, a fused pair's `first` or `second`.
//
// The layers live in a std::tuple; forward is one pack expansion over them and backward
// one over the reversed index sequence: no recursion, so a Sequential of K layers costs
// K instantiations, not K nested ones.
#pragma once

#include "../concepts.hpp"
#include "../init.hpp"
#include "batch_norm_relu.hpp"
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

// A width that does not fit is reported as a sentence with its numbers in it. C++20 cannot
// compute a static_assert's message, but the compilers print the name of the class whose
// static_assert fails, with its template arguments: GCC 12 on the first line of the error
// ("In instantiation of 'struct layerwise::detail::layer_<1>::takes_<64>::
// features_but_the_layers_before_it_produce_<128>'") and in its note ("'...::fits' evaluates
// to false"), Clang 14 in the error line itself ("static_assert failed due to requirement
// 'layer_<1>::takes_<64>::features_but_the_layers_before_it_produce_<128>::fits'"). So the
// nested class names, read with their arguments, are the sentence, and the one static_assert
// sits in the innermost class; its message says what the sentence means. Residual and Repeat
// word their width checks the same way.

/// W as an int when it fits one, because Clang prints a std::size_t argument with a suffix
/// ("1UL"); a W that does not fit an int stays a std::size_t, so checks compare true widths.
template <std::size_t W>
inline constexpr auto width_arg = [] {
    if constexpr (static_cast<int>(W) >= 0 && static_cast<std::size_t>(static_cast<int>(W)) == W)
        return static_cast<int>(W);
    else
        return W;
}();

template <auto Layer>
struct layer_ {
    template <auto Expected>
    struct takes_ {
        template <auto Produced>
        struct features_but_the_layers_before_it_produce_ {
            static constexpr bool fits = Expected == Produced;
            static_assert(
                layer_<Layer>::template takes_<Expected>::template features_but_the_layers_before_it_produce_<Produced>::fits,
                "layerwise: shape mismatch in Sequential: a layer takes a different number of features than the layers "
                "before it produce; the name printed with this error says which layer (counted from 0) and both numbers");
            static constexpr bool ok = true;
        };
    };
};

/// The check of the first link that does not fit (of 0, 0, 0 when all fit): its ok is true, or
/// its static_assert fails with layer_<Layer>::takes_<Expected>::..._produce_<Produced>.
template <std::size_t Layer, std::size_t Produced, std::size_t Expected>
using shape_mismatch = typename layer_<width_arg<Layer>>::template takes_<width_arg<Expected>>::template
    features_but_the_layers_before_it_produce_<width_arg<Produced>>;

// Whether a layer that takes a view copies it on the way (a nested Sequential may); leaf layers do not.
template <class L>
inline constexpr bool copies_views = false;
template <class L>
    requires requires { L::copies_views; }
inline constexpr bool copies_views<L> = L::copies_views;


/// The layers of a Sequential as written (Declared) and as stored (Stored: the fused pairs as one).
template <template <class, class> class Rule, class... Layers>
struct layer_plan {
    using rewrite = rewrite_pairs<Rule, Layers...>;
    using stored = typename apply_list<typename rewrite::type, std::tuple>::type;
};

/// Sequential and UnfusedSequential: Rule says which adjacent pairs are stored as one layer.
template <template <class, class> class Rule, class... Layers>
class SequentialOf {
    static_assert(sizeof...(Layers) > 0, "layerwise: Sequential<> needs at least one layer");
    static_assert((check_layer<Layers>() && ...));

    static constexpr std::size_t K = sizeof...(Layers);
    static constexpr std::array<std::size_t, K> ins_{Layers::in_features...};
    static constexpr std::array<std::size_t, K> outs_{Layers::out_features...};
    static constexpr Link bad_ = first_bad_link(ins_, outs_);
    static_assert(shape_mismatch<bad_.index, bad_.produced, bad_.expected>::ok);

    using Plan = layer_plan<Rule, Layers...>;
    using Stored = typename Plan::stored;
    static constexpr std::size_t S = std::tuple_size_v<Stored>;
    using First = std::tuple_element_t<0, Stored>;

public:
    using scalar_type = typename std::tuple_element_t<0, std::tuple<Layers...>>::scalar_type;
    static_assert((std::is_same_v<typename Layers::scalar_type, scalar_type> && ...),
                  "layerwise: all layers of a network must share one scalar type; write Net::rebind<double> "
                  "to get the whole network in double");
    using Matrix = layerwise::Matrix<scalar_type>;

    static constexpr std::size_t in_features = first_width(ins_, outs_);
    static constexpr std::size_t out_features = last_width(outs_);
    static constexpr std::size_t parameter_count = (Layers::parameter_count + ...);
    static constexpr std::size_t size = S;               // layers as stored (a fused pair is one)
    static constexpr std::size_t declared_size = K;      // layers as written

    /// Every layer initialised as init(net, default_init_seed) gives (init.hpp).
    SequentialOf() { init(*this, default_init_seed); }

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
            ((g = &std::get<S - 1 - I>(layers_).backward(*g)), ...);
        }(std::make_index_sequence<S>{});
        return *g;
    }

    /// The parameter gradients only: as backward(dy), but the first layer skips its dx.
    void backward(const Matrix& dy, parameters_only_t) {
        const Matrix* g = &dy;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((g = &std::get<S - 1 - I>(layers_).backward(*g)), ...);
        }(std::make_index_sequence<S - 1>{});
        backward_parameters(std::get<0>(layers_), *g);
    }

    template <class F>
    void visit_children(F&& f) {
        std::apply([&](auto&... layer) { (f(layer), ...); }, layers_);
    }

    /// The I-th layer as stored (a fused pair is one layer).
    template <std::size_t I>
    auto& layer() { return std::get<I>(layers_); }
    template <std::size_t I>
    const auto& layer() const { return std::get<I>(layers_); }

    /// The I-th layer as written in the type: itself, or the `first` or `second` of the fused
    /// pair that holds it.
    template <std::size_t I>
    auto& layer_as_declared() { return declared<I>(*this); }
    template <std::size_t I>
    const auto& layer_as_declared() const { return declared<I>(*this); }

private:
    template <std::size_t I, class Self>
    static auto& declared(Self& self) {
        static_assert(I < K, "layerwise: layer_as_declared<I>: I is past the last layer");
        constexpr auto& plan = Plan::rewrite::plan;
        constexpr std::size_t j = [&] {
            std::size_t e = 0;
            while (e + 1 < plan.size && plan.start[e + 1] <= I) ++e;
            return e;
        }();
        auto& stored = std::get<j>(self.layers_);
        if constexpr (!plan.pair[j]) return stored;
        else if constexpr (plan.start[j] == I) return (stored.first);
        else return (stored.second);
    }

    // h_k = layer_k(h_{k-1}) for k = 1 .. S from h_0 = x (a Matrix, or a view when the first
    // layer reads one in place).
    template <class X>
    const Matrix& forward_all(const X& x, Mode mode) {
        const Matrix* h = &std::get<0>(layers_).forward(x, mode);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((h = &std::get<1 + I>(layers_).forward(*h, mode)), ...);
        }(std::make_index_sequence<S - 1>{});
        return *h;
    }

    Stored layers_;
    Matrix staged_;  // (B x in_features): forward(MatrixView)'s copy of its input, in the copy case
};

}  // namespace detail

/// Layers applied one after another, the fused pairs of fusion.hpp stored as one layer.
template <class... Layers>
class Sequential : public detail::SequentialOf<detail::fuse_rule, Layers...> {
public:
    /// The same network with scalar type U.
    template <class U>
    using rebind = Sequential<typename Layers::template rebind<U>...>;
};

/// Layers applied one after another, each on its own: every layer forms its own output and
/// input gradient (diagnostics; unfused.hpp).
template <class... Layers>
class UnfusedSequential : public detail::SequentialOf<detail::no_rewrite, Layers...> {
public:
    /// The same network with scalar type U.
    template <class U>
    using rebind = UnfusedSequential<typename Layers::template rebind<U>...>;
};

}  // namespace layerwise
