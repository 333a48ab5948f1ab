// layerwise/optim/adam.hpp — Adam (Kingma & Ba 2015), as TF's ApplyAdam computes it.
//
//   t += 1;  alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t)
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   p -= alpha m / (sqrt(v) + eps)
// Defaults (Keras): lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7.
// With weight_decay wd > 0, g is g + wd p throughout (PyTorch's coupled weight decay, L2, as
// torch.optim.Adam's weight_decay; AdamW's decoupled decay is adamw.hpp).
#pragma once

#include "elementwise.hpp"
#include "optimizer_state.hpp"

#include <cmath>
#include <cstdint>

namespace layerwise {

/// Adam (Kingma & Ba 2015), as TF's ApplyAdam computes it (the top of this file).
template <class T = float>
class Adam {
public:
    T learning_rate = T(1e-3);  ///< lr
    T beta1 = T(0.9);           ///< decay rate of the first moment m
    T beta2 = T(0.999);         ///< decay rate of the second moment v
    T epsilon = T(1e-7);        ///< eps, added to sqrt(v)
    T weight_decay = T(0);      ///< wd: the update uses g + wd p (L2, PyTorch's coupled decay); 0: g

    Adam() = default;
    /// Keras' defaults, with learning rate lr.
    explicit Adam(T lr) : learning_rate(lr) {}

    /// One update of every trainable parameter of net from the gradients it holds.
    template <class Net>
    void step(Net& net) {
        if (weight_decay == T(0)) update<false>(net);  // the loop without decay reads no p for g
        else update<true>(net);
    }

    /// t: the number of steps taken.
    std::int64_t iterations() const { return t_; }

    static constexpr std::string_view name = "Adam";  ///< the optimizer's name in a checkpoint (io/training_state.hpp)
    /// For checkpoints (io/training_state.hpp): f(accumulators), then f(name, counter) for
    /// each counter the update depends on.
    template <class F>
    void visit_state(F&& f) {
        f(state_);
        f(std::string_view("iterations"), t_);
    }

private:
    // The step, with g + wd p for g when Decay.
    template <bool Decay, class Net>
    void update(Net& net) {
        ++t_;
        const double b1t = std::pow(double(beta1), double(t_)), b2t = std::pow(double(beta2), double(t_));
        const T alpha = static_cast<T>(double(learning_rate) * std::sqrt(1 - b2t) / (1 - b1t));
        const T b1 = beta1, b2 = beta2, eps = epsilon, wd = weight_decay;  // locals: stores to p cannot change them
        state_.for_each_trainable(net, [=](T* p, const T* g, std::size_t n, std::array<T*, 2> s) {
            T* m = s[0];
            T* v = s[1];
            for_each_pack<T>(n, [=](std::size_t k, auto lanes) {
                using L = decltype(lanes);
                const auto gk = decayed_gradient<L, Decay>(g + k, p + k, wd);  // g, or g + wd p
                const auto mk = b1 * L::load(m + k) + (T(1) - b1) * gk;       // m = b1 m + (1 - b1) g
                const auto vk = b2 * L::load(v + k) + (T(1) - b2) * gk * gk;  // v = b2 v + (1 - b2) g^2
                L::store(m + k, mk);
                L::store(v + k, vk);
                L::store(p + k, L::load(p + k) - alpha * mk / (lane_sqrt(vk) + eps));  // p -= alpha m / (sqrt(v) + eps)
            });
        });
    }

    std::int64_t t_ = 0;
    OptimizerState<T, 2> state_{{"m", "v"}};  // first moment m, second moment v
};

}  // namespace layerwise
