// layerwise/loss/softmax_cross_entropy.hpp — softmax followed by categorical cross-entropy,
// fused so that it is numerically stable, with Keras' clipping of the probability.
//
//   p_ik   = exp(z_ik - m_i) / sum_k' exp(z_ik' - m_i),   m_i = max_k z_ik    (softmax, softmax.hpp)
//   loss   = 1/B sum_i -log(clip(p_i,y_i, eps, 1 - eps)),  eps = 1e-7          (Keras)
//   dz_ik  = (p_ik - [k == y_i]) / B      when p_i,y_i lies inside the clip range
//          = 0                             when it was clipped (the clip's derivative is 0)
//
// So a diverged network that puts all its mass on a wrong class reports the finite loss
// -log(1e-7) = 16.118 and sends back no gradient for that sample, exactly as Keras does.
// NaN logits give a NaN loss and NaN gradients (nothing hides them).
#pragma once

#include "../concepts.hpp"
#include "../sample_error.hpp"
#include "softmax.hpp"

#include <cmath>
#include <span>
#include <stdexcept>
#include <string>

namespace layerwise {

/// Softmax and categorical cross-entropy in one, stable, with Keras' clipping (the top of this file).
template <class T = float>
class SoftmaxCrossEntropy {
public:
    static constexpr T epsilon = T(1e-7);  ///< the probability is clipped to [epsilon, 1 - epsilon] (Keras)
    using target_type = std::span<const int>;  ///< one class index per row (loss_function.hpp)

    /// The mean loss over the batch. logits: (B x C), labels: B class indices in [0, C).
    T forward(const Matrix<T>& logits, std::span<const int> labels) {
        const std::size_t B = logits.shape(0), C = logits.shape(1);
        require_rows(logits, "SoftmaxCrossEntropy");
        if (labels.size() != B)
            throw std::invalid_argument("layerwise: SoftmaxCrossEntropy: " + std::to_string(B) + " rows of logits but " +
                                        std::to_string(labels.size()) + " labels");
        ensure_shape(p_, B, C);
        ensure_shape(dz_, B, C);
        const T* z = logits.data();
        T* p = p_.data();
        T* dz = dz_.data();
        const T lo = epsilon, hi = T(1) - epsilon;
        T total = T(0);
        correct_ = 0;
        for (std::size_t i = 0; i < B; ++i) {
            const int y = labels[i];
            if (y < 0 || static_cast<std::size_t>(y) >= C)
                throw SampleError("SoftmaxCrossEntropy", i, " of the batch",
                                  "label " + std::to_string(y) + " is outside [0, " + std::to_string(C) + ")");
            const std::size_t label = static_cast<std::size_t>(y);
            const T* zi = z + i * C;
            const auto [argmax, m, s] = softmax_row(zi, p + i * C, C);  // p = softmax(z)
            if (argmax == label) ++correct_;
            const T py = p[i * C + label];
            const bool clipped = py < lo || py > hi;
            if (clipped)
                total += -std::log(py < lo ? lo : hi);
            else
                total += -(zi[label] - m - std::log(s));  // -log p_y, from the log-softmax
            for (std::size_t k = 0; k < C; ++k)  // dz = (p - onehot(y)) / B, or 0 if clipped
                dz[i * C + k] = clipped ? T(0) : (p[i * C + k] - (k == label ? T(1) : T(0))) / T(B);
        }
        return total / T(B);
    }

    /// dLoss/dlogits of the last forward: (B x C).
    const Matrix<T>& backward() const { return dz_; }
    /// softmax(logits) of the last forward: (B x C).
    const Matrix<T>& probabilities() const { return p_; }
    /// How many samples of the last forward had their label as the arg-max.
    std::size_t correct() const { return correct_; }

private:
    Matrix<T> p_;   // p: (B x C)
    Matrix<T> dz_;  // dz: (B x C)
    std::size_t correct_ = 0;
};

}  // namespace layerwise
