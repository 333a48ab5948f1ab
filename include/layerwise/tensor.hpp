// layerwise/tensor.hpp — the only header that includes xtensor.
//
// Everything above this floor speaks in two names: Matrix<T> (rows = samples,
// columns = features, row-major and contiguous) and Vector<T>; gemm.hpp adds the one
// BLAS call. Kernels read and write the contiguous storage through data(), so a layer's
// formula is a plain loop a reader can check against the paper.
#pragma once

#include "config.hpp"  // first: a build older than C++20 stops there, with one message

#include <xtensor/xtensor.hpp>

#include <cstddef>

namespace layerwise {

template <class T>
using Matrix = xt::xtensor<T, 2>;  ///< (rows x cols), row-major
template <class T>
using Vector = xt::xtensor<T, 1>;  ///< (n)

/// A zero-filled (rows x cols) matrix.
template <class T>
Matrix<T> zeros(std::size_t rows, std::size_t cols) {
    Matrix<T> m = Matrix<T>::from_shape({rows, cols});
    m.fill(T(0));
    return m;
}

/// A zero-filled vector of n elements.
template <class T>
Vector<T> zeros(std::size_t n) {
    Vector<T> v = Vector<T>::from_shape({n});
    v.fill(T(0));
    return v;
}

/// Gives m the shape (rows x cols). Reallocates only when the shape changes, so a
/// layer's workspace is allocated on the first batch and reused for every later one
/// of the same size. Contents are unspecified afterwards.
template <class T>
void ensure_shape(Matrix<T>& m, std::size_t rows, std::size_t cols) {
    if (m.shape(0) != rows || m.shape(1) != cols) m.resize({rows, cols});
}

}  // namespace layerwise
