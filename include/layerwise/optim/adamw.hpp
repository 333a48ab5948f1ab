// layerwise/optim/adamw.hpp — AdamW (Loshchilov & Hutter 2019), as torch.optim.AdamW computes it.
//
//   t += 1
//   p *= 1 - lr wd                                    (decoupled weight decay, before the update)
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   p -= lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Defaults (PyTorch): lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0.01.
//
// This is PyTorch's formula, not the one of adam.hpp: Adam follows TF's ApplyAdam, which adds
// eps to sqrt(v) of the uncorrected v and folds both corrections into the step
// (alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t)); AdamW is PyTorch's optimizer, so it adds eps
// beside sqrt(v_hat), v_hat = v / (1 - beta2^t), as PyTorch does. The two differ where sqrt(v)
// is near eps. (PyTorch writes m's update as lerp(m, g, 1 - beta1), which is the same number
// up to rounding.) The decay multiplies p, never g: the moments see the loss's gradient alone.
#pragma once

#include "elementwise.hpp"
#include "optimizer_state.hpp"

#include <cmath>
#include <cstdint>

namespace layerwise {

/// AdamW (Loshchilov & Hutter 2019), as torch.optim.AdamW computes it (the top of this file).
template <class T = float>
class AdamW {
public:
    T learning_rate = T(1e-3);  ///< lr
    T beta1 = T(0.9);           ///< decay rate of the first moment m
    T beta2 = T(0.999);         ///< decay rate of the second moment v
    T epsilon = T(1e-8);        ///< eps, added to sqrt(v_hat)
    T weight_decay = T(0.01);   ///< wd: p *= 1 - lr wd before each update (decoupled); 0: Adam with PyTorch's eps

    AdamW() = default;
    /// PyTorch's defaults, with learning rate lr and weight decay wd.
    explicit AdamW(T lr, T wd = T(0.01)) : learning_rate(lr), weight_decay(wd) {}

    /// One update of every trainable parameter of net from the gradients it holds.
    template <class Net>
    void step(Net& net) {
        ++t_;
        const double b1t = std::pow(double(beta1), double(t_)), b2t = std::pow(double(beta2), double(t_));
        const T step_size = static_cast<T>(double(learning_rate) / (1 - b1t));  // lr / (1 - beta1^t)
        const T root_c2 = static_cast<T>(std::sqrt(1 - b2t));                   // sqrt(1 - beta2^t)
        const T decay = static_cast<T>(1 - double(learning_rate) * double(weight_decay));  // 1 - lr wd
        const T b1 = beta1, b2 = beta2, eps = epsilon;  // locals: stores to p cannot change them
        state_.for_each_trainable(net, [=](T* p, const T* g, std::size_t n, std::array<T*, 2> s) {
            T* m = s[0];
            T* v = s[1];
            for_each_pack<T>(n, [=](std::size_t k, auto lanes) {
                using L = decltype(lanes);
                const auto gk = L::load(g + k);
                const auto mk = b1 * L::load(m + k) + (T(1) - b1) * gk;       // m = b1 m + (1 - b1) g
                const auto vk = b2 * L::load(v + k) + (T(1) - b2) * gk * gk;  // v = b2 v + (1 - b2) g^2
                const auto pk = decay * L::load(p + k);                       // p *= 1 - lr wd
                L::store(m + k, mk);
                L::store(v + k, vk);
                // p -= lr / (1 - b1^t) (m / (sqrt(v) / sqrt(1 - b2^t) + eps)), in PyTorch's order
                L::store(p + k, pk - step_size * (mk / (lane_sqrt(vk) / root_c2 + eps)));
            });
        });
    }

    /// t: the number of steps taken.
    std::int64_t iterations() const { return t_; }

    static constexpr std::string_view name = "AdamW";  ///< the optimizer's name in a checkpoint (io/training_state.hpp)
    /// For checkpoints (io/training_state.hpp): f(accumulators), then f(name, counter) for
    /// each counter the update depends on.
    template <class F>
    void visit_state(F&& f) {
        f(state_);
        f(std::string_view("iterations"), t_);
    }

private:
    std::int64_t t_ = 0;
    OptimizerState<T, 2> state_{{"m", "v"}};  // first moment m, second moment v
};

}  // namespace layerwise
