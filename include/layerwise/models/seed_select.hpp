// layerwise/models/seed_select.hpp — choosing one of the seed's networks at run time.
//
// The network is a type, so a program that takes --config and --depth on its command
// line compiles every choice in and picks one: with_seed_network(config, depth, f) calls
// f.template operator()<Net>() with Net = seed::Network<config, depth>. Depths 10, 15, ...,
// 50 are compiled in; any other is an error that lists them. with_config(config, f) picks the
// config alone (f.template operator()<C>()), for code split by config. trainable_parameters(config,
// depth) counts a choice's parameters (a study's cost model).
#pragma once

#include "../summary.hpp"
#include "seed_mlp.hpp"

#include <algorithm>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace layerwise::seed {

// A program may compile fewer depths: -DLAYERWISE_SEED_DEPTHS=10,15 (CMake's
// LAYERWISE_SEED_DEPTHS sets it for the example programs; CI's builds use it, since
// every depth instantiates the same code).
#ifndef LAYERWISE_SEED_DEPTHS
#define LAYERWISE_SEED_DEPTHS 10, 15, 20, 25, 30, 35, 40, 45, 50
#endif
inline constexpr std::size_t depths[] = {LAYERWISE_SEED_DEPTHS};  ///< the depths compiled in

/// depths as text: "10, 15, ..., 50".
inline std::string available_depths() {
    std::string s;
    for (std::size_t d : depths) s += (s.empty() ? "" : ", ") + std::to_string(d);
    return s;
}

/// The Config named "bn", "plain", "skip", "selu", "layernorm" or "rezero"; throws
/// std::invalid_argument for any other name.
inline Config parse_config(const std::string& name) {
    for (std::size_t c = 0; c < std::size(config_names); ++c)
        if (config_names[c] == name) return static_cast<Config>(c);
    throw std::invalid_argument("unknown config '" + name + "' (expected bn, plain, skip, selu, layernorm or rezero)");
}

/// Throws std::invalid_argument "<what> <depth> is not compiled in (available: ...)" unless
/// depth is one of `depths`.
inline void check_depth(std::size_t depth, const std::string& what = "depth") {
    if (std::find(std::begin(depths), std::end(depths), depth) == std::end(depths))
        throw std::invalid_argument(what + " " + std::to_string(depth) + " is not compiled in (available: " +
                                    available_depths() + ")");
}

/// `f.template operator()<Network<C, depth>>()` for a depth given at run time (check_depth first).
template <Config C, class F>
void with_depth(std::size_t depth, F&& f) {
    check_depth(depth);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (void)((depth == depths[I] ? (f.template operator()<Network<C, depths[I]>>(), true) : false) || ...);
    }(std::make_index_sequence<std::size(depths)>{});
}

/// `f.template operator()<C>()` for a config given at run time: a program can compile each
/// config's code in a translation unit of its own, and pick one here.
template <class F>
void with_config(Config config, F&& f) {
    switch (config) {
        case Config::bn: return f.template operator()<Config::bn>();
        case Config::plain: return f.template operator()<Config::plain>();
        case Config::skip: return f.template operator()<Config::skip>();
        case Config::selu: return f.template operator()<Config::selu>();
        case Config::layernorm: return f.template operator()<Config::layernorm>();
        case Config::rezero: return f.template operator()<Config::rezero>();
    }
}

/// `f.template operator()<Net>()` with `Net = Network<config, depth>` (the top of this file).
template <class F>
void with_seed_network(Config config, std::size_t depth, F&& f) {
    with_config(config, [&]<Config C>() { with_depth<C>(depth, f); });
}

/// The trainable parameters of network (config, depth), counted on one built for the purpose.
inline std::size_t trainable_parameters(Config config, std::size_t depth) {
    std::size_t n = 0;
    with_seed_network(config, depth, [&]<class Net>() { n = count_parameters(*std::make_unique<Net>()).trainable; });
    return n;
}

}  // namespace layerwise::seed
