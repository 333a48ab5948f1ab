// layerwise/loss/mean_squared_error.hpp — the mean squared error, for regression, as Keras'
// `mse`: the mean over a sample's outputs, then the mean over the batch.
//
//   loss   = 1/B sum_i 1/C sum_k (y_ik - t_ik)^2     y: (B x C) outputs, t: (B x C) targets
//   dy_ik  = 2 (y_ik - t_ik) / (B C)
//
// NaN outputs give a NaN loss and NaN gradients (nothing hides them).
#pragma once

#include "../concepts.hpp"

#include <stdexcept>
#include <string>

namespace layerwise {

/// The mean squared error, Keras' `mse`, for regression (the top of this file).
template <class T = float>
class MeanSquaredError {
public:
    using target_type = MatrixView<T>;  ///< one row of targets per row of outputs (loss_function.hpp)

    /// The mean loss over the batch. y: (B x C) outputs, t: (B x C) targets.
    T forward(const Matrix<T>& y, MatrixView<T> t) {
        const std::size_t B = y.shape(0), C = y.shape(1);
        require_rows(y, "MeanSquaredError");
        if (t.rows() != B || t.cols() != C)
            throw std::invalid_argument("layerwise: MeanSquaredError: outputs have shape (" + std::to_string(B) +
                                        " x " + std::to_string(C) + ") but targets (" + std::to_string(t.rows()) +
                                        " x " + std::to_string(t.cols()) + ")");
        ensure_shape(dy_, B, C);
        const T* out = y.data();
        const T* target = t.data();
        T* dy = dy_.data();
        const T scale = T(2) / T(B * C);
        T total = T(0);
        for (std::size_t i = 0; i < B; ++i) {
            T row = T(0);
            for (std::size_t k = i * C; k < (i + 1) * C; ++k) {
                const T d = out[k] - target[k];
                row += d * d;        // sum_k (y_ik - t_ik)^2
                dy[k] = scale * d;   // dy = 2 (y - t) / (B C)
            }
            total += row / T(C);     // the sample's mean over its outputs
        }
        return total / T(B);         // the mean over the batch
    }

    /// dLoss/dy of the last forward: (B x C).
    const Matrix<T>& backward() const { return dy_; }

private:
    Matrix<T> dy_;  // dy: (B x C)
};

}  // namespace layerwise
