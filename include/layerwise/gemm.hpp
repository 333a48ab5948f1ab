// layerwise/gemm.hpp — the one BLAS call: C = alpha op(A) op(B) + beta C, shared by threads.
//
// The only header that includes xtensor-blas, and of it only cxxblas's gemm (the typed
// wrapper over cblas_sgemm / cblas_dgemm), not xblas.hpp: that one also brings xtensor's
// printing, complex numbers and views, which every translation unit would compile for
// nothing. Only Dense needs it.
#pragma once

#include "parallel.hpp"
#include "tensor.hpp"

#include <xtensor-blas/xblas_config.hpp>  // HAVE_CBLAS: cxxblas calls CBLAS, not its own loops
#include <xflens/cxxblas/drivers/drivers.tcc>  // the CBLAS enum conversions gemm uses
#include <xflens/cxxblas/level3/gemm.tcc>

#include <cstddef>

namespace layerwise {

/// Rows [first, last) of C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T, on
/// the calling thread, where A is the (a_rows x a_cols) row-major matrix at a: a Matrix's
/// storage or memory a user lends (MatrixView). C must already have the result's shape.
/// Calls BLAS (sgemm/dgemm through xtensor-blas's cxxblas) on the storage: no temporaries.
template <class T>
void gemm_rows(const T* a, std::size_t a_rows, std::size_t a_cols, bool transpose_a, const Matrix<T>& b,
               bool transpose_b, Matrix<T>& c, std::size_t first, std::size_t last, T alpha = T(1), T beta = T(0)) {
    using index = int;
    const index n = static_cast<index>(c.shape(1));
    const index k = static_cast<index>(transpose_a ? a_rows : a_cols);
    const index lda = static_cast<index>(a_cols), ldb = static_cast<index>(b.shape(1)), ldc = n;
    if (last <= first || n == 0) return;
    // rows of C need the same rows of op(A): row r of A, or column r of A when transposed
    const T* a0 = transpose_a ? a + first : a + first * static_cast<std::size_t>(lda);
    cxxblas::gemm<index>(cxxblas::RowMajor, transpose_a ? cxxblas::Trans : cxxblas::NoTrans,
                         transpose_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<index>(last - first), n, k, alpha,
                         a0, lda, b.data(), ldb, beta, c.data() + first * static_cast<std::size_t>(ldc), ldc);
}

/// The same with A a Matrix.
template <class T>
void gemm_rows(const Matrix<T>& a, bool transpose_a, const Matrix<T>& b, bool transpose_b, Matrix<T>& c,
               std::size_t first, std::size_t last, T alpha = T(1), T beta = T(0)) {
    gemm_rows(a.data(), a.shape(0), a.shape(1), transpose_a, b, transpose_b, c, first, last, alpha, beta);
}

/// C = alpha * op(A) * op(B) + beta * C, all rows, A the (a_rows x a_cols) matrix at a. With
/// set_threads(n > 1) the rows of C are cut into n bands computed in parallel, each by its
/// own single-threaded BLAS call.
template <class T>
void gemm(const T* a, std::size_t a_rows, std::size_t a_cols, bool transpose_a, const Matrix<T>& b,
          bool transpose_b, Matrix<T>& c, T alpha = T(1), T beta = T(0)) {
    parallel_rows(c.shape(0), [&](std::size_t, std::size_t first, std::size_t last) {
        gemm_rows(a, a_rows, a_cols, transpose_a, b, transpose_b, c, first, last, alpha, beta);
    });
}

/// The same with A a Matrix.
template <class T>
void gemm(const Matrix<T>& a, bool transpose_a, const Matrix<T>& b, bool transpose_b,
          Matrix<T>& c, T alpha = T(1), T beta = T(0)) {
    gemm(a.data(), a.shape(0), a.shape(1), transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace layerwise
