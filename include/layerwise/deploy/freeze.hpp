// layerwise/deploy/freeze.hpp — a trained network made ready for inference: every BatchNorm
// that directly follows a Dense folded into it, once.
//
//   BatchNorm(x W + b) = x W' + b',   W'_ij = W_ij a_j,   b'_j = (b_j - moving_mean_j) a_j + beta_j,
//                                     a_j = gamma_j / sqrt(moving_var_j + eps)
//
// In inference mode BatchNorm is an affine map per column with its moving statistics, so the
// pair is one Dense: one GEMM (or, for 1 to 8 rows, one read of W) instead of a GEMM and a pass
// over its output. As PyTorch's fuse_modules and ONNX Runtime's graph optimizations do, this is
// an explicit step on a trained model:
//
//   auto deployed = freeze(net);           // frozen_t<Net>: Net's type with each (Dense, BatchNorm) one Dense
//   predict(deployed, x);                  // agrees with predict(net, x) to float rounding
//
// The frozen network is a network of its own type and its own copy of the parameters: later
// training of net does not change it (freeze again). Every other layer is copied as it is.
#pragma once

#include "../layers/batch_norm.hpp"
#include "../layers/dense.hpp"
#include "../visit.hpp"
#include "../compose/repeat.hpp"
#include "../compose/residual.hpp"
#include "../compose/sequential.hpp"

#include <cmath>
#include <type_traits>

namespace layerwise {

namespace detail {
template <class A, class B>
struct fold_rule {};
template <std::size_t In, std::size_t N, class T>
struct fold_rule<Dense<In, N, T>, BatchNorm<N, T>> {
    using type = Dense<In, N, T>;
};
}  // namespace detail

/// The frozen form of a layer type (the top of this file): L itself for a leaf layer or a
/// composite of your own; specialised below for the library's composites.
template <class L>
struct frozen {
    using type = L;  ///< the frozen form
};
/// L with each BatchNorm that directly follows a Dense folded into that Dense.
template <class L>
using frozen_t = typename frozen<L>::type;

/// A Sequential of its layers' frozen forms, each (Dense, BatchNorm) pair among them one Dense.
template <class... L>
struct frozen<Sequential<L...>> {
    /// The frozen form.
    using type = typename detail::apply_list<
        typename detail::rewrite_pairs<detail::fold_rule, frozen_t<L>...>::type, Sequential>::type;
};
/// An UnfusedSequential of its layers' frozen forms, each (Dense, BatchNorm) pair among them one Dense.
template <class... L>
struct frozen<UnfusedSequential<L...>> {
    /// The frozen form.
    using type = typename detail::apply_list<
        typename detail::rewrite_pairs<detail::fold_rule, frozen_t<L>...>::type, UnfusedSequential>::type;
};
/// A Residual around its layers' frozen forms, each (Dense, BatchNorm) pair among them one Dense.
template <class... L>
struct frozen<Residual<L...>> {
    /// The frozen form.
    using type = typename detail::apply_list<
        typename detail::rewrite_pairs<detail::fold_rule, frozen_t<L>...>::type, Residual>::type;
};
/// A ResidualOf around its block's frozen form.
template <class B>
struct frozen<ResidualOf<B>> {
    using type = ResidualOf<frozen_t<B>>;  ///< the frozen form
};
/// A Repeat of its layers' frozen forms, each (Dense, BatchNorm) pair among them one Dense.
template <std::size_t N, class... L>
struct frozen<Repeat<N, L...>> {
    /// Repeat with N fixed, for apply_list.
    template <class... X>
    using RepeatN = Repeat<N, X...>;
    /// The frozen form.
    using type = typename detail::apply_list<
        typename detail::rewrite_pairs<detail::fold_rule, frozen_t<L>...>::type, RepeatN>::type;
};
/// A RepeatOf of its block's frozen form.
template <std::size_t N, class B>
struct frozen<RepeatOf<N, B>> {
    using type = RepeatOf<N, frozen_t<B>>;  ///< the frozen form
};

namespace detail {

// out = the Dense d followed by the BatchNorm bn in inference (see the top of this file).
template <std::size_t In, std::size_t N, class T>
void fold_into(const Dense<In, N, T>& d, const BatchNorm<N, T>& bn, Dense<In, N, T>& out) {
    for (std::size_t j = 0; j < N; ++j) {
        const T a = bn.gamma(j) / std::sqrt(bn.moving_variance(j) + bn.epsilon);
        for (std::size_t i = 0; i < In; ++i) out.W(i, j) = d.W(i, j) * a;  // W' = W a
        out.b(j) = (d.b(j) - bn.moving_mean(j)) * a + bn.beta(j);          // b' = (b - moving_mean) a + beta
    }
}

// The overloads call each other for nested composites, so all are declared first.
template <class L>
void freeze_into(const L& src, L& dst);
template <class... L, class Dst>
    requires(!std::is_same_v<Sequential<L...>, Dst>)
void freeze_into(const Sequential<L...>& src, Dst& dst);
template <class... L, class Dst>
    requires(!std::is_same_v<UnfusedSequential<L...>, Dst>)
void freeze_into(const UnfusedSequential<L...>& src, Dst& dst);
template <class B, class Dst>
    requires(!std::is_base_of_v<Dst, ResidualOf<B>> && !std::is_same_v<ResidualOf<B>, Dst>)
void freeze_into(const ResidualOf<B>& src, Dst& dst);
template <std::size_t N, class B, class Dst>
    requires(!std::is_same_v<RepeatOf<N, B>, Dst>)
void freeze_into(const RepeatOf<N, B>& src, Dst& dst);

template <class L>
void freeze_into(const L& src, L& dst) {
    dst = src;
}

template <class Seq, class... L, class Dst>
void freeze_sequence(const Seq& src, Dst& dst) {
    using Rewrite = rewrite_pairs<fold_rule, frozen_t<L>...>;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
        auto one = [&]<std::size_t j>() {
            constexpr std::size_t i = Rewrite::plan.start[j];
            if constexpr (Rewrite::plan.pair[j])
                fold_into(src.template layer_as_declared<i>(), src.template layer_as_declared<i + 1>(),
                          dst.template layer_as_declared<j>());
            else
                freeze_into(src.template layer_as_declared<i>(), dst.template layer_as_declared<j>());
        };
        (one.template operator()<J>(), ...);
    }(std::make_index_sequence<Rewrite::plan.size>{});
}

// (A composite whose frozen type is its own type is copied whole, by the overload above.)
template <class... L, class Dst>
    requires(!std::is_same_v<Sequential<L...>, Dst>)
void freeze_into(const Sequential<L...>& src, Dst& dst) {
    freeze_sequence<Sequential<L...>, L...>(src, dst);
}
template <class... L, class Dst>
    requires(!std::is_same_v<UnfusedSequential<L...>, Dst>)
void freeze_into(const UnfusedSequential<L...>& src, Dst& dst) {
    freeze_sequence<UnfusedSequential<L...>, L...>(src, dst);
}
template <class B, class Dst>
    requires(!std::is_base_of_v<Dst, ResidualOf<B>> && !std::is_same_v<ResidualOf<B>, Dst>)
void freeze_into(const ResidualOf<B>& src, Dst& dst) {
    freeze_into(src.block, dst.block);
}
template <std::size_t N, class B, class Dst>
    requires(!std::is_same_v<RepeatOf<N, B>, Dst>)
void freeze_into(const RepeatOf<N, B>& src, Dst& dst) {
    for (std::size_t n = 0; n < N; ++n) freeze_into(src.blocks[n], dst.blocks[n]);
}

}  // namespace detail

/// net made ready for inference (see the top of this file): a new network of type frozen_t<Net>.
template <class Net>
frozen_t<Net> freeze(const Net& net) {
    frozen_t<Net> out;
    detail::freeze_into(net, out);
    forget_inputs(out);  // the copied layers must not point at the inputs of net's last forward
    return out;
}

}  // namespace layerwise
