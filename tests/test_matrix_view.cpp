#include "testing.hpp"

#include <layerwise/matrix_view.hpp>

#include <array>
#include <span>
#include <type_traits>
#include <vector>

using namespace layerwise;

namespace {
// Whether rows_of takes an argument of type R (an rvalue for a non-reference R).
template <class R>
concept RowsOfAccepts = requires(R&& r) { rows_of(static_cast<R&&>(r), 1); };
}  // namespace

TEST_CASE("a view of a span has the span's memory, row-major") {
    const std::vector<float> v = {1, 2, 3, 4, 5, 6};
    const MatrixView<float> x(std::span<const float>(v), 2, 3);
    CHECK(x.data() == v.data());
    CHECK(x.rows() == 2);
    CHECK(x.cols() == 3);
    CHECK(x.size() == 6);
    CHECK(x.shape(0) == 2);
    CHECK(x.shape(1) == 3);
    CHECK(x.data()[1 * 3 + 2] == 6.0f);  // element (1, 2)
}

TEST_CASE("a span whose size is not rows * cols is refused, with both numbers") {
    const std::vector<float> v(7, 0.0f);
    CHECK_THROWS_WITH_AS(MatrixView<float>(std::span<const float>(v), 2, 3),
                         "layerwise: MatrixView: a span of 7 elements cannot be viewed as (2 x 3), which needs 6",
                         std::invalid_argument);
}

TEST_CASE("a null pointer is refused unless there is nothing to view") {
    CHECK_THROWS_WITH_AS(MatrixView<double>(nullptr, 2, 3), "layerwise: MatrixView: null data for a (2 x 3) matrix",
                         std::invalid_argument);
    CHECK(MatrixView<double>(nullptr, 0, 3).size() == 0);
}

TEST_CASE("rows_of cuts a contiguous range into equal rows, in place") {
    std::vector<float> v(12, 0.0f);
    const MatrixView<float> x = rows_of(v, 4);
    CHECK(x.data() == v.data());
    CHECK(x.rows() == 4);
    CHECK(x.cols() == 3);
    const std::array<double, 6> a{};
    CHECK(rows_of(std::span<const double>(a), 3).cols() == 2);
    CHECK_THROWS_WITH_AS(rows_of(v, 5), "layerwise: rows_of: 12 elements cannot be cut into 5 rows of equal length",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(rows_of(v, 0), "layerwise: rows_of: 12 elements cannot be cut into 0 rows of equal length",
                         std::invalid_argument);
}

TEST_CASE("a view cannot be made of a temporary, which it would outlive") {
    static_assert(std::is_convertible_v<const Matrix<float>&, MatrixView<float>>);
    static_assert(!std::is_constructible_v<MatrixView<float>, Matrix<float>&&>);
    static_assert(!std::is_constructible_v<MatrixView<float>, const Matrix<double>&>);
    static_assert(RowsOfAccepts<std::vector<float>&> && RowsOfAccepts<std::span<const float>>);
    static_assert(!RowsOfAccepts<std::vector<float>>);  // a temporary vector
    CHECK(true);
}

TEST_CASE("a Matrix converts to a view of its own storage") {
    const Matrix<float> m = zeros<float>(3, 5);
    const MatrixView<float> x = m;
    CHECK(x.data() == m.data());
    CHECK(x.rows() == 3);
    CHECK(x.cols() == 5);
}

TEST_CASE("row_range views a band of rows of the same memory, and refuses one past the end") {
    const std::vector<int> v = {0, 1, 2, 3, 4, 5, 6, 7};
    const MatrixView<int> x(v.data(), 4, 2);
    const MatrixView<int> band = x.row_range(1, 2);
    CHECK(band.data() == v.data() + 2);
    CHECK(band.rows() == 2);
    CHECK(band.cols() == 2);
    CHECK(x.row_range(4, 0).rows() == 0);
    CHECK_THROWS_WITH_AS(x.row_range(3, 2), "layerwise: MatrixView: rows [3, 5) of a view of 4 rows",
                         std::out_of_range);
}
