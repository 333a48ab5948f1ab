#include "testing.hpp"

#include <layerwise/layers/activation.hpp>

#include <cmath>
#include <limits>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

TEST_CASE("activations compute their textbook functions") {
    const Matrix<double> x = {{-2.0, 0.0, 0.5, 3.0}};
    Activation<relu_fn, double> relu;
    Activation<tanh_fn, double> tanh;
    Activation<sigmoid_fn, double> sigmoid;
    CHECK(relu.forward(x, Mode::train) == Matrix<double>{{0.0, 0.0, 0.5, 3.0}});
    const auto& t = tanh.forward(x, Mode::train);
    const auto& s = sigmoid.forward(x, Mode::train);
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(t(0, j) == doctest::Approx(std::tanh(x(0, j))));
        CHECK(s(0, j) == doctest::Approx(1 / (1 + std::exp(-x(0, j)))));
    }
}

TEST_CASE("ReLU backward passes the gradient where the input was positive") {
    Activation<relu_fn, double> relu;
    relu.forward(Matrix<double>{{-1.0, 2.0, 3.0}}, Mode::train);
    CHECK(relu.backward(Matrix<double>{{5.0, 6.0, -7.0}}) == Matrix<double>{{0.0, 6.0, -7.0}});
}

TEST_CASE("activation gradients match finite differences") {
    // Inputs stay away from 0, where ReLU has its kink.
    Matrix<double> x = random_matrix(5, 6, 41, 0.05, 2.0);
    for (std::size_t k = 0; k < x.size(); k += 2) x.data()[k] = -x.data()[k];
    SUBCASE("ReLU") {
        ReLU::rebind<double> a;
        require_gradients(a, x);
    }
    SUBCASE("Tanh") {
        Tanh::rebind<double> a;
        require_gradients(a, x);
    }
    SUBCASE("Sigmoid") {
        Sigmoid::rebind<double> a;
        require_gradients(a, x);
    }
}

TEST_CASE("NaN in the input propagates through every activation") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Matrix<double> x = {{nan, 1.0}};
    ReLU::rebind<double> relu;
    Tanh::rebind<double> tanh;
    Sigmoid::rebind<double> sigmoid;
    CHECK(std::isnan(relu.forward(x, Mode::train)(0, 0)));
    CHECK(std::isnan(tanh.forward(x, Mode::train)(0, 0)));
    CHECK(std::isnan(sigmoid.forward(x, Mode::train)(0, 0)));
}

TEST_CASE("ReLU, Tanh and Sigmoid are float by default and rebind to double") {
    static_assert(std::is_same_v<ReLU::scalar_type, float>);
    static_assert(std::is_same_v<Tanh::rebind<double>::scalar_type, double>);
    static_assert(ReLU::in_features == any_width && ReLU::parameter_count == 0);
    CHECK(ReLU::function_name == "relu");
}
