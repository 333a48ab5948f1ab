#include "testing.hpp"

#include <layerwise/layers/dense.hpp>

#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

TEST_CASE("Dense forward computes x W + b") {
    Dense<2, 3, double> d;
    d.W = {{1, 2, 3}, {4, 5, 6}};
    d.b = {0.5, -0.5, 1};
    const Matrix<double> x = {{1, 1}, {2, -1}};
    const auto& y = d.forward(x, Mode::train);
    const Matrix<double> expected = {{5.5, 6.5, 10}, {-1.5, -1.5, 1}};
    CHECK(y == expected);
}

TEST_CASE("Dense backward gives x^T dy, column sums of dy and dy W^T") {
    Dense<2, 3, double> d;
    d.W = {{1, 2, 3}, {4, 5, 6}};
    const Matrix<double> x = {{1, 1}, {2, -1}};
    d.forward(x, Mode::train);
    const Matrix<double> dy = {{1, 0, 2}, {0, 1, -1}};
    const auto& dx = d.backward(dy);
    CHECK(dx == Matrix<double>{{7, 16}, {-1, -1}});
    CHECK(d.dW == Matrix<double>{{1, 2, 0}, {1, -1, 3}});
    CHECK(d.db == Vector<double>{1, 1, 1});
}

TEST_CASE("Dense gradients match finite differences") {
    Dense<6, 4, double> d;
    init(d, 3);
    for (auto& v : d.b) v = 0.1;  // a non-zero bias, so that its role is checked too
    require_gradients(d, random_matrix(5, 6, 11));
}

TEST_CASE("Dense rejects an input with the wrong number of columns, naming both") {
    Dense<784, 128> d;
    const Matrix<float> x = zeros<float>(4, 100);
    CHECK_THROWS_WITH_AS(d.forward(x, Mode::train), "layerwise: Dense<784, 128>: input has 100 columns, expected 784",
                         std::invalid_argument);
}

TEST_CASE("Dense backward checks the gradient's shape and that forward ran") {
    Dense<3, 2, double> d;
    CHECK_THROWS_AS(d.backward(zeros<double>(4, 2)), std::logic_error);
    const Matrix<double> x = zeros<double>(4, 3);  // forward keeps a reference: x must outlive backward
    d.forward(x, Mode::train);
    CHECK_THROWS_WITH_AS(d.backward(zeros<double>(4, 3)),
                         "layerwise: Dense backward: dy has shape (4 x 3), expected (4 x 2)", std::invalid_argument);
}

TEST_CASE("Dense output buffer is reused across batches of the same size") {
    Dense<3, 2> d;
    const Matrix<float> x = zeros<float>(4, 3);
    const float* first = d.forward(x, Mode::train).data();
    CHECK(d.forward(x, Mode::train).data() == first);
}

TEST_CASE("Dense refuses a batch of 0 rows, and forget_input makes a later backward a clear error") {
    Dense<3, 2> d;
    const Matrix<float> none = zeros<float>(0, 3);
    CHECK_THROWS_WITH_AS(d.forward(none, Mode::train), "layerwise: Dense: the batch is empty (0 rows)",
                         std::invalid_argument);
    const Matrix<float> x = zeros<float>(2, 3), dy = zeros<float>(2, 2);
    d.forward(x, Mode::train);
    d.forget_input();
    CHECK_THROWS_WITH_AS(d.backward(dy), "layerwise: Dense: backward called before forward", std::logic_error);
}

TEST_CASE("Dense reads a view of the user's memory in place, with the Matrix path's results bit for bit") {
    Dense<4, 3> by_view, by_matrix;
    init(by_view, 5);
    init(by_matrix, 5);
    const Matrix<float> m = random_matrix<float>(5, 4, 12);
    const std::vector<float> v(m.begin(), m.end());  // the same numbers in the user's own buffer
    const Matrix<float> dy = random_matrix<float>(5, 3, 13);
    const Matrix<float> y = by_view.forward(rows_of(v, 5), Mode::train);
    CHECK(by_view.input_data() == v.data());  // kept the user's pointer: no copy
    CHECK(y == by_matrix.forward(m, Mode::train));
    CHECK(by_matrix.input_data() == m.data());
    CHECK(by_view.backward(dy) == by_matrix.backward(dy));
    CHECK(by_view.dW == by_matrix.dW);  // dW = x^T dy, read from the user's memory
    CHECK(by_view.db == by_matrix.db);
    by_view.forget_input();
    CHECK(by_view.input_data() == nullptr);
}

TEST_CASE("Dense refuses a view with the wrong number of columns, naming both") {
    Dense<4, 3> d;
    const std::vector<float> v(10, 0.0f);
    CHECK_THROWS_WITH_AS(d.forward(rows_of(v, 2), Mode::train),
                         "layerwise: Dense<4, 3>: input has 5 columns, expected 4", std::invalid_argument);
}
