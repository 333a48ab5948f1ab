// layerwise/loss/softmax.hpp — the softmax of one row of logits, computed stably, and the
// row's arg-max: shared by SoftmaxCrossEntropy (training) and probabilities / predict (inference).
//
//   a       = argmax_k z_k                 the first of equal maxima
//   m       = z_a                          the row's maximum
//   s       = sum_k exp(z_k - m)           every exponent is <= 0, so nothing overflows
//   p_k     = exp(z_k - m) / s             softmax(z): each in [0, 1], the row sums to 1
//   log p_k = z_k - m - log s              the log-softmax, for a loss that needs it
//
// A NaN logit makes the row NaN (nothing hides it).
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <cmath>
#include <cstddef>

namespace layerwise {

/// The index of the first largest of z[0 .. C), C >= 1: a = argmax_k z_k.
template <class T>
std::size_t arg_max(const T* z, std::size_t C) {
    std::size_t a = 0;
    for (std::size_t k = 1; k < C; ++k)
        if (z[k] > z[a]) a = k;
    return a;
}

/// What softmax_row found on its way: a, m and s of the formulas above.
template <class T>
struct SoftmaxRow {
    std::size_t argmax;  ///< a
    T max;               ///< m = z_a
    T sum;               ///< s = sum_k exp(z_k - m)
};

/// p[0 .. C) = softmax(z[0 .. C)), C >= 1, subtracting the row's maximum first.
/// p may be z itself: each z_k is read before p_k is written, and m is kept aside.
template <class T>
SoftmaxRow<T> softmax_row(const T* z, T* p, std::size_t C) {
    const std::size_t a = arg_max(z, C);
    const T m = z[a];
    T s = T(0);
    for (std::size_t k = 0; k < C; ++k) s += (p[k] = std::exp(z[k] - m));  // s = sum_k exp(z_k - m)
    for (std::size_t k = 0; k < C; ++k) p[k] /= s;                         // p_k = exp(z_k - m) / s
    return {a, m, s};
}

}  // namespace layerwise
