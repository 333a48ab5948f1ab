// layerwise/optim/sgd.hpp — stochastic gradient descent, as TF2 Keras' SGD.
//
//   plain     p -= lr g
//   momentum  v = m v - lr g;  p += v
//   Nesterov  v = m v - lr g;  p += m v - lr g
// With weight_decay wd > 0, g is g + wd p throughout (PyTorch's coupled weight decay, L2).
#pragma once

#include "elementwise.hpp"
#include "optimizer_state.hpp"

namespace layerwise {

/// Stochastic gradient descent, plain, with momentum or Nesterov, as TF2 Keras' SGD (the top of this file).
template <class T = float>
class SGD {
public:
    T learning_rate = T(0.01);  ///< lr; Keras default
    T momentum = T(0);          ///< m; 0: plain SGD
    bool nesterov = false;      ///< Nesterov momentum rather than plain (when momentum > 0)
    T weight_decay = T(0);      ///< wd: the update uses g + wd p (L2, PyTorch's coupled decay); 0: g

    SGD() = default;
    /// Learning rate lr, momentum momentum_, Nesterov's when nesterov_.
    explicit SGD(T lr, T momentum_ = T(0), bool nesterov_ = false)
        : learning_rate(lr), momentum(momentum_), nesterov(nesterov_) {}

    /// One update of every trainable parameter of net from the gradients it holds.
    template <class Net>
    void step(Net& net) {
        if (weight_decay == T(0)) update<false>(net);  // the loops without decay read no p for g
        else update<true>(net);
    }

    static constexpr std::string_view name = "SGD";  ///< the optimizer's name in a checkpoint (io/training_state.hpp)
    /// For checkpoints (io/training_state.hpp): f(accumulators); SGD keeps no counter.
    template <class F>
    void visit_state(F&& f) { f(state_); }

private:
    // The step, with g + wd p for g when Decay.
    template <bool Decay, class Net>
    void update(Net& net) {
        const T lr = learning_rate, mu = momentum, wd = weight_decay;  // locals: stores to p cannot change them
        const bool nag = nesterov;
        state_.for_each_trainable(net, [=](T* p, const T* g, std::size_t n, std::array<T*, 1> s) {
            using L = Lanes<T>;
            T* v = s[0];
            if (mu == T(0)) {  // the choices are outside the loops, so that each vectorizes
                for (std::size_t k = 0; k < n; ++k) p[k] -= lr * decayed_gradient<L, Decay>(g + k, p + k, wd);
            } else if (nag) {
                for (std::size_t k = 0; k < n; ++k) {
                    const T gk = decayed_gradient<L, Decay>(g + k, p + k, wd);
                    v[k] = mu * v[k] - lr * gk;  // v = m v - lr g
                    p[k] += mu * v[k] - lr * gk;  // p += m v - lr g
                }
            } else {
                for (std::size_t k = 0; k < n; ++k) {
                    v[k] = mu * v[k] - lr * decayed_gradient<L, Decay>(g + k, p + k, wd);  // v = m v - lr g
                    p[k] += v[k];
                }
            }
        });
    }

    OptimizerState<T, 1> state_{{"v"}};  // velocity v
};

}  // namespace layerwise
