// layerwise/compose/unfused.hpp — a network's twin with every layer on its own, and copying
// parameters between two networks.
//
//   unfused_t<Net>            Net with each Sequential (also inside Residual, ReZero and Repeat) an
//                             UnfusedSequential: no fused pairs (fusion.hpp), so every layer forms
//                             its own output() and input_gradient(). Same parameters, same
//                             names, same order, same numbers from forward and backward.
//   copy_parameters(from, to) every parameter value, trainable or not, from one network to
//                             another whose parameters have the same names and sizes.
//
// Diagnostics that read each layer's own output (study::Recorder) run a copy of the trained
// network's parameters in its unfused twin. A composite layer of your own is kept as it is.
#pragma once

#include "../visit.hpp"
#include "repeat.hpp"
#include "residual.hpp"
#include "rezero.hpp"
#include "sequential.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

/// The unfused twin of a layer type (the top of this file): L itself for a leaf layer or a
/// composite of your own; specialised below for the library's composites.
template <class L>
struct unfused {
    using type = L;  ///< the twin
};
/// L with every Sequential, also inside Residual, ReZero and Repeat, an UnfusedSequential.
template <class L>
using unfused_t = typename unfused<L>::type;

/// A Sequential's twin: an UnfusedSequential of its layers' twins.
template <class... L>
struct unfused<Sequential<L...>> {
    using type = UnfusedSequential<unfused_t<L>...>;  ///< the twin
};
/// An UnfusedSequential's twin: an UnfusedSequential of its layers' twins.
template <class... L>
struct unfused<UnfusedSequential<L...>> {
    using type = UnfusedSequential<unfused_t<L>...>;  ///< the twin
};
/// A Residual's twin: a ResidualOf around an UnfusedSequential of its layers' twins.
template <class... L>
struct unfused<Residual<L...>> {
    using type = ResidualOf<UnfusedSequential<unfused_t<L>...>>;  ///< the twin
};
/// A ResidualOf's twin: a ResidualOf around its block's twin.
template <class B>
struct unfused<ResidualOf<B>> {
    using type = ResidualOf<unfused_t<B>>;  ///< the twin
};
/// A ReZero's twin: a ReZeroOf around an UnfusedSequential of its layers' twins.
template <class... L>
struct unfused<ReZero<L...>> {
    using type = ReZeroOf<UnfusedSequential<unfused_t<L>...>>;  ///< the twin
};
/// A ReZeroOf's twin: a ReZeroOf around its block's twin.
template <class B>
struct unfused<ReZeroOf<B>> {
    using type = ReZeroOf<unfused_t<B>>;  ///< the twin
};
/// A Repeat's twin: a RepeatOf of an UnfusedSequential of its layers' twins.
template <std::size_t N, class... L>
struct unfused<Repeat<N, L...>> {
    using type = RepeatOf<N, UnfusedSequential<unfused_t<L>...>>;  ///< the twin
};
/// A RepeatOf's twin: a RepeatOf of its block's twin.
template <std::size_t N, class B>
struct unfused<RepeatOf<N, B>> {
    using type = RepeatOf<N, unfused_t<B>>;  ///< the twin
};

/// Copies every parameter of `from` into `to`, in visiting order. Throws std::invalid_argument,
/// before changing anything, when the two do not have the same parameters (names and sizes).
template <class From, class To>
void copy_parameters(From& from, To& to) {
    using T = typename From::scalar_type;
    static_assert(std::is_same_v<T, typename To::scalar_type>,
                  "layerwise: copy_parameters needs two networks of one scalar type");
    struct Source {
        std::string name;
        const T* data;
        std::size_t size;
    };
    std::vector<Source> sources;
    for_each_parameter(from, [&](const ParameterInfo& p, auto& value, auto&) {
        sources.push_back({std::string(p.name), value.data(), value.size()});
    });
    std::size_t k = 0;
    auto mismatch = [](const std::string& what) {
        throw std::invalid_argument("layerwise: copy_parameters: the networks differ: " + what);
    };
    for_each_parameter(to, [&](const ParameterInfo& p, auto& value, auto&) {
        if (k == sources.size()) mismatch("the second has more parameters (" + std::string(p.name) + ")");
        if (sources[k].name != p.name || sources[k].size != value.size())
            mismatch(sources[k].name + " (" + std::to_string(sources[k].size) + " values) against " +
                     std::string(p.name) + " (" + std::to_string(value.size()) + ")");
        ++k;
    });
    if (k != sources.size()) mismatch("the first has more parameters (" + sources[k].name + ")");
    k = 0;
    for_each_parameter(to, [&](const ParameterInfo&, auto& value, auto&) {
        std::copy(sources[k].data, sources[k].data + sources[k].size, value.data());
        ++k;
    });
}

}  // namespace layerwise
