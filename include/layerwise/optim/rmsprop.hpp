// layerwise/optim/rmsprop.hpp — RMSprop (Hinton's lecture 6e).
//
//   a  = rho a + (1 - rho) g^2                      (a starts at 0)
//   epsilon_placement inside:   p -= lr g / sqrt(a + eps)      TF's ApplyRMSProp, used by TF2 Keras
//   epsilon_placement outside:  p -= lr g / (sqrt(a) + eps)    Keras 2.1.5
// Defaults (TF2 Keras): lr 1e-3, rho 0.9, eps 1e-7, inside.
// With weight_decay wd > 0, g is g + wd p throughout (PyTorch's coupled weight decay, L2).
#pragma once

#include "elementwise.hpp"
#include "numerics.hpp"
#include "optimizer_state.hpp"

#include <cmath>

namespace layerwise {

/// RMSprop (Hinton's lecture 6e), epsilon inside or outside the root (the top of this file).
template <class T = float>
class RMSprop {
public:
    T learning_rate = T(1e-3);  ///< lr
    T rho = T(0.9);             ///< decay rate of the mean square a
    T epsilon = T(1e-7);        ///< eps
    RMSpropEpsilon epsilon_placement = RMSpropEpsilon::inside;  ///< sqrt(a + eps) (inside) or sqrt(a) + eps (outside)
    T weight_decay = T(0);      ///< wd: the update uses g + wd p (L2, PyTorch's coupled decay); 0: g

    RMSprop() = default;
    /// TF2 Keras' defaults, with learning rate lr and epsilon where `placement` says.
    explicit RMSprop(T lr, RMSpropEpsilon placement = RMSpropEpsilon::inside)
        : learning_rate(lr), epsilon_placement(placement) {}

    /// One update of every trainable parameter of net from the gradients it holds.
    template <class Net>
    void step(Net& net) {
        if (weight_decay == T(0)) update<false>(net);  // the loop without decay reads no p for g
        else update<true>(net);
    }

    static constexpr std::string_view name = "RMSprop";  ///< the optimizer's name in a checkpoint (io/training_state.hpp)
    /// For checkpoints (io/training_state.hpp): f(accumulators); RMSprop keeps no counter.
    template <class F>
    void visit_state(F&& f) { f(state_); }

private:
    // The step, with g + wd p for g when Decay.
    template <bool Decay, class Net>
    void update(Net& net) {
        const bool inside = epsilon_placement == RMSpropEpsilon::inside;
        const T lr = learning_rate, r = rho, wd = weight_decay;  // locals: stores to p cannot change them
        // epsilon goes inside the root or after it; the other place gets an exact 0
        // (a >= 0, so a + 0 == a and sqrt(a) + 0 == sqrt(a) to the bit), and the loop has no branch
        const T eps_in = inside ? epsilon : T(0), eps_out = inside ? T(0) : epsilon;
        state_.for_each_trainable(net, [=](T* p, const T* g, std::size_t n, std::array<T*, 1> s) {
            T* a = s[0];
            for_each_pack<T>(n, [=](std::size_t k, auto lanes) {
                using L = decltype(lanes);
                const auto gk = decayed_gradient<L, Decay>(g + k, p + k, wd);  // g, or g + wd p
                const auto ak = r * L::load(a + k) + (T(1) - r) * gk * gk;  // a = rho a + (1 - rho) g^2
                const auto denom = lane_sqrt(ak + eps_in) + eps_out;  // sqrt(a + eps) or sqrt(a) + eps
                L::store(a + k, ak);
                L::store(p + k, L::load(p + k) - lr * gk / denom);  // p -= lr g / denom
            });
        });
    }

    OptimizerState<T, 1> state_{{"a"}};  // mean square a
};

}  // namespace layerwise
