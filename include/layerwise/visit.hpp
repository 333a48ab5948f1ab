// layerwise/visit.hpp — walking a network: its leaf layers and their parameters, by name.
//
// Layers are numbered per base name in walk order, as Keras numbers them in order of
// creation: dense, dense_1, dense_2, ..., batch_normalization, batch_normalization_1, ...;
// a parameter is "<layer>/<kind>", e.g. "dense_3/kernel". The walk visits layers from input
// to output (a Residual's block before its Add).
//
// A naming policy says what a layer type is called: base<L>() (the stem that gets numbered)
// and type<L>() (the type column of summaries and checkpoint signatures). DefaultNaming takes
// the layer's own `name` ("layer" when it has none) for both; a file format can bring its
// own (io/keras_names.hpp: Keras' class names).
#pragma once

#include "concepts.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <string_view>
#include <type_traits>

namespace layerwise {

/// What the layer walk says about each leaf layer.
struct LayerInfo {
    std::string_view name;        ///< "dense_3"
    std::string_view type;        ///< as the naming policy calls the layer's type: "dense" (Keras: "Dense")
    std::size_t index;            ///< position among all leaf layers, from 0
    std::size_t out_width;        ///< the layer's output width (any_width only for a width-agnostic network)
};

/// What the parameter visitor says about each parameter. Converts to its name, so a
/// visitor may take `std::string_view name` as its first argument.
struct ParameterInfo {
    std::string_view name;        ///< "dense_3/kernel"
    std::string_view layer;       ///< "dense_3"
    std::string_view kind;        ///< "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"
    std::size_t layer_index;      ///< position of its layer among the layers that have parameters, from 0
    bool trainable;               ///< false for the moving statistics of BatchNorm
    Initializer initializer;      ///< as the layer declares it
    /// The name, "dense_3/kernel".
    operator std::string_view() const { return name; }
};

/// Names every layer type by its own `name` member, or "layer" when it has none.
struct DefaultNaming {
    /// The stem that gets numbered: L::name, or "layer".
    template <class L>
    static constexpr std::string_view base() {
        if constexpr (requires { std::string_view(L::name); }) return L::name;
        else return "layer";
    }
    /// The type column of summaries and checkpoint signatures: the same as base<L>().
    template <class L>
    static constexpr std::string_view type() { return base<L>(); }
};

namespace detail {

// Builds "base" or "base_k" names without allocating (names are short).
class LayerNamer {
public:
    std::string_view next(std::string_view base) {
        std::size_t slot = 0;
        while (slot < used_ && bases_[slot] != base) ++slot;
        if (slot == used_) {
            if (used_ == bases_.size()) slot = used_ - 1;  // more kinds than slots: numbering is shared
            else bases_[used_++] = base;
        }
        const std::size_t k = counts_[slot]++;
        std::size_t n = base.copy(buffer_.data(), buffer_.size() - 24);
        if (k > 0) {
            buffer_[n++] = '_';
            n = static_cast<std::size_t>(std::to_chars(buffer_.data() + n, buffer_.data() + buffer_.size(), k).ptr -
                                         buffer_.data());
        }
        return {buffer_.data(), n};
    }

private:
    std::array<std::string_view, 16> bases_{};
    std::array<std::size_t, 16> counts_{};
    std::size_t used_ = 0;
    std::array<char, 96> buffer_{};
};

struct WalkState {
    LayerNamer namer;
    std::size_t index = 0;
};

template <class Naming, class L, class F>
std::size_t walk_layers(L& layer, F& f, WalkState& state, std::size_t width) {
    if constexpr (CompositeLayer<L>) {
        std::size_t w = width;
        layer.visit_children([&](auto& child) { w = walk_layers<Naming>(child, f, state, w); });
        if constexpr (!LeafLayer<L>) return w;
    }
    if constexpr (LeafLayer<L>) {
        const std::size_t out = L::out_features != any_width ? L::out_features : width;
        const LayerInfo info{state.namer.next(Naming::template base<L>()), Naming::template type<L>(), state.index++,
                             out};
        f(layer, info);
        return out;
    }
}

}  // namespace detail

/// Calls f(layer, info) for every leaf layer of net, input to output, named by Naming.
template <class Naming = DefaultNaming, class Net, class F>
void for_each_layer(Net& net, F&& f) {
    detail::WalkState state;
    detail::walk_layers<Naming>(net, f, state, Net::in_features);
}

/// Makes every layer of net drop its reference to its last input (Dense::forget_input), for
/// code that ran forward on a buffer it is about to destroy: a later backward then throws
/// instead of reading freed memory.
template <class Net>
void forget_inputs(Net& net) {
    for_each_layer(net, [](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.forget_input(); }) layer.forget_input();
    });
}

/// Calls f(info, value, gradient) for every parameter of net, input to output, named by
/// Naming ("dense_3/kernel"). value and gradient are a Matrix or a Vector of the network's scalar;
/// for a parameter that is not trainable (info.trainable == false) the gradient is zero.
/// Nothing is allocated: the names live in a buffer that is valid during the call.
template <class Naming = DefaultNaming, class Net, class F>
void for_each_parameter(Net& net, F&& f) {
    std::size_t layer_index = 0;
    for_each_layer<Naming>(net, [&](auto& layer, const LayerInfo& li) {
        bool any = false;
        layer.visit_parameters([&](std::string_view kind, auto& value, auto& grad, bool trainable, auto... how) {
            static_assert(sizeof...(how) == 1 && (std::is_same_v<decltype(how), Initializer> && ...),
                          "layerwise: a layer's visit_parameters must say how each parameter is initialised: "
                          "f(name, value, gradient, trainable, Initializer::kernel / zeros / ones)");
            Initializer initializer{};
            ((initializer = how), ...);
            std::array<char, 128> full{};
            std::size_t n = li.name.copy(full.data(), 64);
            full[n++] = '/';
            n += kind.copy(full.data() + n, 48);
            const ParameterInfo info{{full.data(), n}, li.name, kind, layer_index, trainable, initializer};
            f(info, value, grad);
            any = true;
        });
        if (any) ++layer_index;
    });
}

}  // namespace layerwise
