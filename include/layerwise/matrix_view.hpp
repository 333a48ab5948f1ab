// layerwise/matrix_view.hpp — a read-only, non-owning view of a user's (rows x cols) matrix.
//
//   element (i, j) = data[i * cols + j]     row-major and contiguous, as Matrix<T> stores it
//
// It lets a std::span<const T> or a raw const T* with a row count be a network's input with
// no copy where the first layer can read it in place (Dense: its GEMM needs only data() and
// the shape); Sequential copies it into a buffer of its own otherwise. A view owns nothing:
// forward keeps a pointer to the viewed memory for backward, so that memory must stay alive
// and unchanged until backward has run, exactly as a named Matrix must.
#pragma once

#include "tensor.hpp"

#include <cstddef>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>

namespace layerwise {

/// A read-only, non-owning view of a user's (rows x cols) row-major matrix (the top of this file).
template <class T>
class MatrixView {
public:
    /// rows x cols elements at data, row-major; throws std::invalid_argument on a null
    /// pointer (unless there is nothing to view).
    MatrixView(const T* data, std::size_t rows, std::size_t cols) : data_(data), rows_(rows), cols_(cols) {
        if (data == nullptr && rows * cols > 0)
            throw std::invalid_argument("layerwise: MatrixView: null data for a (" + std::to_string(rows) + " x " +
                                        std::to_string(cols) + ") matrix");
    }

    /// The span as (rows x cols); throws std::invalid_argument unless span.size() == rows * cols.
    MatrixView(std::span<const T> data, std::size_t rows, std::size_t cols)
        : MatrixView(checked(data, rows, cols), rows, cols) {}

    /// The whole of m (implicit, so that a Matrix goes wherever a view does). Not from a
    /// temporary Matrix: the view would outlive it.
    MatrixView(const Matrix<T>& m) : data_(m.data()), rows_(m.shape(0)), cols_(m.shape(1)) {}
    MatrixView(const Matrix<T>&&) = delete;

    /// The first element; element (i, j) is data()[i * cols() + j].
    const T* data() const { return data_; }
    /// Rows: samples.
    std::size_t rows() const { return rows_; }
    /// Columns: features.
    std::size_t cols() const { return cols_; }
    /// Elements: rows() * cols().
    std::size_t size() const { return rows_ * cols_; }
    /// As Matrix::shape(k): rows for k = 0, cols for k = 1.
    std::size_t shape(std::size_t k) const { return k == 0 ? rows_ : cols_; }

    /// Rows [first, first + count) as a view of the same memory; throws std::out_of_range past the end.
    MatrixView row_range(std::size_t first, std::size_t count) const {
        if (first > rows_ || count > rows_ - first)
            throw std::out_of_range("layerwise: MatrixView: rows [" + std::to_string(first) + ", " +
                                    std::to_string(first + count) + ") of a view of " + std::to_string(rows_) +
                                    " rows");
        return MatrixView(data_ + first * cols_, count, cols_);
    }

private:
    static const T* checked(std::span<const T> data, std::size_t rows, std::size_t cols) {
        if (data.size() != rows * cols)
            throw std::invalid_argument("layerwise: MatrixView: a span of " + std::to_string(data.size()) +
                                        " elements cannot be viewed as (" + std::to_string(rows) + " x " +
                                        std::to_string(cols) + "), which needs " + std::to_string(rows * cols));
        return data.data();
    }

    const T* data_;     // (rows x cols), owned by the user
    std::size_t rows_;  // samples
    std::size_t cols_;  // features
};

/// A contiguous range (a std::span, a std::vector, a std::array, ...) as `rows` rows of
/// size / rows columns each; throws std::invalid_argument when rows is 0 or does not divide
/// the size. Not from a temporary container (borrowed_range): the view would outlive it.
template <std::ranges::contiguous_range R>
    requires std::ranges::sized_range<R> && std::ranges::borrowed_range<R>
MatrixView<std::ranges::range_value_t<R>> rows_of(R&& data, std::size_t rows) {
    const std::size_t size = std::ranges::size(data);
    if (rows == 0 || size % rows != 0)
        throw std::invalid_argument("layerwise: rows_of: " + std::to_string(size) +
                                    " elements cannot be cut into " + std::to_string(rows) + " rows of equal length");
    return {std::ranges::data(data), rows, size / rows};
}

}  // namespace layerwise
