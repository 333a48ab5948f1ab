#include "testing.hpp"

#include <layerwise/layerwise.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

TEST_CASE("Residual adds its block's output to its input, and dy to its block's input gradient") {
    Residual<Dense<2, 2, double>> r;
    r.block.layer<0>().W = {{2, 0}, {0, 3}};
    const Matrix<double> x = {{1, 1}};
    CHECK(r.forward(x, Mode::train) == Matrix<double>{{3, 4}});     // x + x W
    CHECK(r.backward(Matrix<double>{{1, 1}}) == Matrix<double>{{3, 4}});  // dy + dy W^T
}

TEST_CASE("Residual gradients match finite differences") {
    Residual<Dense<6, 6>, BatchNorm<6>>::rebind<double> r;
    init(r, 7);
    require_gradients(r, random_matrix(5, 6, 61));
}

TEST_CASE("a skip network (the seed's shape, narrow) has correct gradients") {
    using Skip = Sequential<Dense<5, 6>, BatchNorm<6>, ReLU,
                            Repeat<3, Dense<6, 6>, BatchNorm<6>, ReLU, Residual<Dense<6, 6>, BatchNorm<6>>, ReLU>,
                            Dense<6, 3>>;
    Skip::rebind<double> net;
    init(net, 8);
    require_gradients(net, random_matrix(6, 5, 62));
}

TEST_CASE("a Residual of width-agnostic layers keeps any width") {
    Residual<Tanh> r;
    static_assert(decltype(r)::in_features == any_width);
    const Matrix<float> x = zeros<float>(3, 9);
    CHECK(r.forward(x, Mode::train).shape(1) == 9);
}
