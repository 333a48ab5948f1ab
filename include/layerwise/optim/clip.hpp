// layerwise/optim/clip.hpp — gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
//
//   total = sqrt(sum over every trainable gradient g of sum_k g_k^2)     (accumulated in double)
//   coef  = max_norm / (total + 1e-6)
//   if coef < 1:  g *= coef  for every trainable gradient                (coef in g's type)
//
// The direction of the step is kept and only its length bounded, so one bad batch cannot throw
// the parameters far. Moving statistics (untrainable) are neither counted nor scaled. fit calls
// it after the finite check, before the optimizer's step, when FitOptions::clip_norm > 0.
#pragma once

#include "../visit.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace layerwise {

/// The 2-norm of all trainable gradients of net taken together, accumulated in double.
template <class Net>
double gradient_norm(Net& net) {
    double sum = 0;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (!p.trainable) return;
        const auto* g = grad.data();
        for (std::size_t k = 0, n = grad.size(); k < n; ++k) sum += double(g[k]) * double(g[k]);  // sum g^2
    });
    return std::sqrt(sum);
}

/// Scales every trainable gradient of net by max_norm / (total + 1e-6) when that is below 1,
/// as torch.nn.utils.clip_grad_norm_ (the top of this file); returns total, the norm before
/// clipping. Throws std::invalid_argument unless max_norm >= 0.
template <class Net>
double clip_gradient_norm(Net& net, double max_norm) {
    if (!(max_norm >= 0))
        throw std::invalid_argument("layerwise: clip_gradient_norm: max_norm must be at least 0, got " +
                                    std::to_string(max_norm));
    const double total = gradient_norm(net);
    const double coef = max_norm / (total + 1e-6);  // 1e-6: PyTorch's, so that a zero gradient stays zero
    if (coef < 1)
        for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
            if (!p.trainable) return;
            auto* g = grad.data();
            const auto c = static_cast<std::remove_cvref_t<decltype(*g)>>(coef);  // in the gradient's type
            for (std::size_t k = 0, n = grad.size(); k < n; ++k) g[k] *= c;  // g *= coef
        });
    return total;
}

}  // namespace layerwise
