#include "testing.hpp"

#include <layerwise/compose/sequential.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/dense.hpp>

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

TEST_CASE("ELU, SELU, LeakyReLU and GELU compute their textbook functions") {
    const Matrix<double> x = {{-2.0, -1.0, 0.5, 3.0}};
    ELU::rebind<double> elu;
    SELU::rebind<double> selu;
    LeakyReLU::rebind<double> leaky;
    GELU::rebind<double> gelu, gelu_tanh;
    gelu_tanh.fn.tanh_approximation = true;
    // alpha (exp(x) - 1) with alpha = 1; scale alpha (exp(x) - 1) and scale x with PyTorch's constants
    const Matrix<double> elu_y = {{-0.8646647167633873, -0.6321205588285577, 0.5, 3.0}};
    const Matrix<double> selu_y = {{-1.5201664685956948, -1.1113307378125625, 0.5253504936777402, 3.1521029620664414}};
    const Matrix<double> leaky_y = {{-0.02, -0.01, 0.5, 3.0}};
    // x Phi(x), and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from Python's math.erf and math.tanh
    const Matrix<double> gelu_y = {{-0.04550026389635842, -0.15865525393145707, 0.34573123063700656, 2.99595030590511}};
    const Matrix<double> gelu_tanh_y = {{-0.04540230591222494, -0.15880800939172324, 0.34571400982514394, 2.996362607918227}};
    const auto& e = elu.forward(x, Mode::train);
    const auto& s = selu.forward(x, Mode::train);
    const auto& l = leaky.forward(x, Mode::train);
    const auto& g = gelu.forward(x, Mode::train);
    const auto& t = gelu_tanh.forward(x, Mode::train);
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(e(0, j) == doctest::Approx(elu_y(0, j)).epsilon(1e-14));
        CHECK(s(0, j) == doctest::Approx(selu_y(0, j)).epsilon(1e-14));
        CHECK(l(0, j) == doctest::Approx(leaky_y(0, j)).epsilon(1e-14));
        CHECK(g(0, j) == doctest::Approx(gelu_y(0, j)).epsilon(1e-14));
        CHECK(t(0, j) == doctest::Approx(gelu_tanh_y(0, j)).epsilon(1e-14));
    }
}

TEST_CASE("the settings of ELU and LeakyReLU are members of their function, read at every forward") {
    const Matrix<double> x = {{-2.0, 1.0}};
    ELU::rebind<double> elu;
    elu.fn.alpha = 0.5;
    CHECK(elu.forward(x, Mode::train)(0, 0) == doctest::Approx(-0.43233235838169365).epsilon(1e-14));
    CHECK(elu.backward(Matrix<double>{{1.0, 1.0}}) ==
          Matrix<double>{{elu.output()(0, 0) + 0.5, 1.0}});  // dy (y + alpha) = dy alpha exp(x); dy
    LeakyReLU::rebind<double> leaky;
    leaky.fn.slope = 0.3;  // Keras' default
    CHECK(leaky.forward(x, Mode::train) == Matrix<double>{{-2.0 * 0.3, 1.0}});
    CHECK(leaky.backward(Matrix<double>{{2.0, 2.0}}) == Matrix<double>{{0.3 * 2.0, 2.0}});
    CHECK(LeakyReLU().fn.slope == 0.01);  // PyTorch's default
    CHECK(ELU().fn.alpha == 1.0);
}

TEST_CASE("ELU and LeakyReLU refuse settings whose sign backward could not read from y") {
    ELU elu;
    LeakyReLU leaky;
    const Matrix<float> x = zeros<float>(2, 3);
    elu.fn.alpha = -1;
    CHECK_THROWS_WITH_AS(elu.forward(x, Mode::train),
                         "layerwise: elu: alpha must be >= 0 (backward reads the sign of x from y), got -1",
                         std::invalid_argument);
    leaky.fn.slope = -0.25;
    CHECK_THROWS_WITH_AS(leaky.forward(x, Mode::train),
                         "layerwise: leaky_relu: slope must be >= 0 (backward reads the sign of x from y), got -0.25",
                         std::invalid_argument);
    leaky.fn.slope = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(leaky.forward(x, Mode::train), std::invalid_argument);
}

TEST_CASE("gradients of ELU, SELU, LeakyReLU and GELU match finite differences, in train and inference mode") {
    // Inputs stay away from 0, where ELU, SELU and LeakyReLU have their kinks.
    Matrix<double> x = random_matrix(5, 6, 42, 0.05, 2.5);
    for (std::size_t k = 0; k < x.size(); k += 2) x.data()[k] = -x.data()[k];
    for (const Mode mode : {Mode::train, Mode::inference}) {
        CAPTURE(mode == Mode::train);
        ELU::rebind<double> elu, elu_half;
        elu_half.fn.alpha = 0.5;
        SELU::rebind<double> selu;
        LeakyReLU::rebind<double> leaky, leaky_keras;
        leaky_keras.fn.slope = 0.3;
        GELU::rebind<double> gelu, gelu_tanh;
        gelu_tanh.fn.tanh_approximation = true;
        require_gradients(elu, x, mode);
        require_gradients(elu_half, x, mode);
        require_gradients(selu, x, mode);
        require_gradients(leaky, x, mode);
        require_gradients(leaky_keras, x, mode);
        require_gradients(gelu, x, mode);
        require_gradients(gelu_tanh, x, mode);
    }
}

TEST_CASE("GELU's gradient is right also where GELU is not monotonic (x near -0.75), which y alone could not tell") {
    const Matrix<double> near_minimum = random_matrix(4, 5, 43, -1.5, 0.0);
    GELU::rebind<double> gelu;
    require_gradients(gelu, near_minimum);
}

TEST_CASE("ELU, SELU, LeakyReLU and GELU between Dense layers have correct gradients") {
    using Net = Sequential<Dense<5, 6>, ELU, Dense<6, 6>, LeakyReLU, Dense<6, 6>, SELU, Dense<6, 6>, GELU, Dense<6, 3>>;
    Net::rebind<double> net;
    init(net, 9);
    net.layer<3>().fn.slope = 0.2;
    net.layer<7>().fn.tanh_approximation = true;
    const Matrix<double> x = random_matrix(6, 5, 45);
    require_gradients(net, x, Mode::train);
    require_gradients(net, x, Mode::inference);
}

TEST_CASE("GELU keeps its input for backward, the others only their output") {
    static_assert(GELU::keeps_input && !ReLU::keeps_input && !ELU::keeps_input && !SELU::keeps_input);
    GELU::rebind<double> gelu;
    CHECK_THROWS_WITH_AS(gelu.backward(zeros<double>(2, 3)), "layerwise: gelu: backward called before forward",
                         std::logic_error);
    const Matrix<double> x = random_matrix(2, 3, 44);
    gelu.forward(x, Mode::train);
    CHECK(gelu.backward(zeros<double>(2, 3)).shape(1) == 3);
    gelu.forget_input();  // what forget_inputs(net) calls
    CHECK_THROWS_AS(gelu.backward(zeros<double>(2, 3)), std::logic_error);
}

TEST_CASE("NaN in the input propagates through ELU, SELU, LeakyReLU and GELU") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Matrix<double> x = {{nan, 1.0}};
    ELU::rebind<double> elu;
    SELU::rebind<double> selu;
    LeakyReLU::rebind<double> leaky;
    GELU::rebind<double> gelu;
    CHECK(std::isnan(elu.forward(x, Mode::train)(0, 0)));
    CHECK(std::isnan(selu.forward(x, Mode::train)(0, 0)));
    CHECK(std::isnan(leaky.forward(x, Mode::train)(0, 0)));
    CHECK(std::isnan(gelu.forward(x, Mode::train)(0, 0)));
}

TEST_CASE("ELU, SELU, LeakyReLU and GELU are float by default and rebind to double") {
    static_assert(std::is_same_v<ELU::scalar_type, float> && std::is_same_v<SELU::scalar_type, float> &&
                  std::is_same_v<LeakyReLU::scalar_type, float> && std::is_same_v<GELU::scalar_type, float>);
    static_assert(std::is_same_v<GELU::rebind<double>, Activation<gelu_fn, double>>);
    static_assert(SELU::in_features == any_width && GELU::parameter_count == 0);
    CHECK(ELU::function_name == "elu");
    CHECK(SELU::function_name == "selu");
    CHECK(LeakyReLU::function_name == "leaky_relu");
    CHECK(GELU::function_name == "gelu");
    // float works too: the same values as double to float precision
    GELU gelu;
    SELU selu;
    const Matrix<float> x = {{-1.0f, 1.0f}};
    CHECK(gelu.forward(x, Mode::train)(0, 1) == doctest::Approx(0.8413447460685429).epsilon(1e-6));
    CHECK(selu.forward(x, Mode::train)(0, 0) == doctest::Approx(-1.1113307378125625).epsilon(1e-6));
}
