// layerwise/loss/loss_function.hpp — what a loss is, as fit and evaluate use one.
//
// A loss for outputs of scalar type T is a class with
//   target_type                         a batch's targets: std::span<const int> (one class index
//                                       per row) or MatrixView<T> (one row of targets per row)
//   forward(y, targets)       -> T      the mean loss over the batch; y: (B x C) network outputs
//   backward()                -> const Matrix<T>&   dLoss/dy of the last forward: (B x C)
//   correct()                 -> std::size_t        optional: how many rows of the last forward
//                                       were classified right; fit and evaluate report an
//                                       accuracy for a loss that has it, NaN for one that has not
#pragma once

#include "../matrix_view.hpp"

#include <concepts>
#include <cstddef>

namespace layerwise {

/// A loss for outputs of scalar type T, as fit and evaluate use one (the top of this file).
template <class L, class T>
concept LossFunction = requires(L& loss, const Matrix<T>& y, typename L::target_type targets) {
    { loss.forward(y, targets) } -> std::convertible_to<T>;
    { loss.backward() } -> std::same_as<const Matrix<T>&>;
};

/// A loss that counts the rows it classified right (SoftmaxCrossEntropy), so that an
/// accuracy can be reported beside it.
template <class L>
concept CountsCorrect = requires(const L& loss) {
    { loss.correct() } -> std::convertible_to<std::size_t>;
};

}  // namespace layerwise
