// layerwise/compose/fusion.hpp — which adjacent layers a Sequential runs as one layer.
//
// Sequential<..., A, B, ...> stores fusion<A, B>::type in place of A and B where that type
// exists. The fused type is a layer in its own right (concepts.hpp) computing B(A(x)) in fewer
// passes over memory, with the same numbers; it holds the pair as its members `first` (an A)
// and `second` (a B) and visits them as its children, so that a walk of the network
// (visit.hpp) sees the layers as written: their names, parameters and settings. The library fuses a
// BatchNorm followed by a ReLU (batch_norm_relu.hpp); a pair of your own opts in with
//
//   template <> struct layerwise::fusion<MyNorm, MyGate> { using type = MyNormGate; };
//
// Pairs are taken from the left: in A, B, C with both (A, B) and (B, C) fusible, A and B fuse.
// unfused_t<Net> (unfused.hpp) is the same network with every layer on its own, for
// diagnostics that want each layer's own output.
#pragma once

#include "../concepts.hpp"

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace layerwise {

/// Specialise with `using type = ...` to run A followed by B as one layer (see the top of this file).
template <class A, class B>
struct fusion {};

namespace detail {

/// A rule that rewrites no pair (Sequential's unfused form).
template <class A, class B>
struct no_rewrite {};

template <template <class, class> class Rule, class A, class B>
concept Rewrites = requires { typename Rule<A, B>::type; };

template <class... L>
struct type_list {};

/// Which layers a list keeps and which pairs it rewrites, from the left: entry j starts at
/// layer start[j] and covers it alone, or it and the next one when pair[j].
template <std::size_t K>
struct PairPlan {
    std::array<std::size_t, K> start{};
    std::array<bool, K> pair{};
    std::size_t size = 0;
};

template <std::size_t K>
consteval PairPlan<K> plan_pairs(const std::array<bool, K>& rewrites_with_next) {
    PairPlan<K> plan;
    for (std::size_t k = 0; k < K; k += plan.pair[plan.size++] ? 2 : 1) {
        plan.start[plan.size] = k;
        plan.pair[plan.size] = k + 1 < K && rewrites_with_next[k];
    }
    return plan;
}

template <template <class, class> class Rule, class Tuple, std::size_t I>
consteval bool rewrites_at() {
    if constexpr (I + 1 < std::tuple_size_v<Tuple>)
        return Rewrites<Rule, std::tuple_element_t<I, Tuple>, std::tuple_element_t<I + 1, Tuple>>;
    else
        return false;
}

template <bool Pair, template <class, class> class Rule, class Tuple, std::size_t I>
struct entry_type {
    using type = std::tuple_element_t<I, Tuple>;
};
template <template <class, class> class Rule, class Tuple, std::size_t I>
struct entry_type<true, Rule, Tuple, I> {
    using type = typename Rule<std::tuple_element_t<I, Tuple>, std::tuple_element_t<I + 1, Tuple>>::type;
};

/// The list L... with the pairs Rule rewrites replaced by Rule<A, B>::type, from the left:
/// plan says where each entry came from, type is the result as a type_list.
template <template <class, class> class Rule, class... L>
struct rewrite_pairs {
    using tuple = std::tuple<L...>;
    static constexpr PairPlan<sizeof...(L)> plan = [] {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return plan_pairs<sizeof...(L)>({rewrites_at<Rule, tuple, I>()...});
        }(std::index_sequence_for<L...>{});
    }();
    template <std::size_t... J>
    static auto make(std::index_sequence<J...>)
        -> type_list<typename entry_type<plan.pair[J], Rule, tuple, plan.start[J]>::type...>;
    using type = decltype(make(std::make_index_sequence<plan.size>{}));
};

template <class List, template <class...> class To>
struct apply_list;
template <class... L, template <class...> class To>
struct apply_list<type_list<L...>, To> {
    using type = To<L...>;
};

/// Checks what Sequential needs of fusion<A, B>::type, with one message per requirement.
template <class A, class B, class F>
consteval bool check_fusion() {
    static_assert(check_layer<F>());
    static_assert(requires(F& f) {
        { f.first } -> std::same_as<A&>;
        { f.second } -> std::same_as<B&>;
    }, "layerwise: fusion<A, B>::type must hold the pair it fuses as public members `first` (an A) and `second` (a B)");
    static_assert(CompositeLayer<F> && !LeafLayer<F>,
                  "layerwise: fusion<A, B>::type must visit its pair as children, visit_children(f) { f(first); "
                  "f(second); }, and have no visit_parameters of its own");
    static_assert(std::is_same_v<typename F::scalar_type, typename A::scalar_type> && F::in_features == A::in_features &&
                      (F::out_features == B::out_features || B::out_features == any_width),
                  "layerwise: fusion<A, B>::type must have A's scalar type and input width and B's output width");
    return true;
}

template <class A, class B>
struct checked_fusion {
    static_assert(check_fusion<A, B, typename fusion<A, B>::type>());
    using type = typename fusion<A, B>::type;
};

/// The rule Sequential fuses by: fusion<A, B>, checked.
template <class A, class B>
struct fuse_rule {};
template <class A, class B>
    requires requires { typename fusion<A, B>::type; }
struct fuse_rule<A, B> : checked_fusion<A, B> {};

}  // namespace detail

}  // namespace layerwise
