#include "testing.hpp"

#include <layerwise/compose/rezero.hpp>
#include <layerwise/compose/sequential.hpp>
#include <layerwise/compose/unfused.hpp>
#include <layerwise/deploy/freeze.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/batch_norm.hpp>
#include <layerwise/layers/dense.hpp>
#include <layerwise/layers/layer_norm.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

TEST_CASE("ReZero adds alpha times its block's output to its input") {
    ReZero<Dense<2, 2, double>> r;
    r.block.layer<0>().W = {{2, 0}, {0, 3}};
    r.block.layer<0>().b = {0, 0};
    r.alpha(0) = 0.5;
    const Matrix<double> x = {{1, 1}};
    CHECK(r.forward(x, Mode::train) == Matrix<double>{{2, 2.5}});   // x + 0.5 x W
    CHECK(r.backward(Matrix<double>{{1, 2}}) == Matrix<double>{{2, 5}});  // dy + 0.5 dy W^T
    CHECK(r.dalpha(0) == 1 * 2 + 2 * 3);  // sum(dy F(x)), F(x) = (2, 3)
    CHECK(r.block.layer<0>().dW == Matrix<double>{{0.5, 1}, {0.5, 1}});  // x^T (alpha dy)
}

TEST_CASE("ReZero at alpha = 0 is exactly the identity, and its alpha gradient is sum(dy F(x))") {
    ReZero<Dense<6, 6>, Tanh, Dense<6, 6>>::rebind<double> r;
    init(r, 3);
    CHECK(r.alpha(0) == 0.0);  // declared Initializer::zeros: 0 at construction and after init
    const Matrix<double> x = random_matrix(5, 6, 1), dy = random_matrix(5, 6, 2);
    CHECK(r.forward(x, Mode::train) == x);
    const Matrix<double> fx = r.block.forward(x, Mode::train);
    r.forward(x, Mode::train);
    CHECK(r.backward(dy) == dy);  // the block's dx is 0: dx = dy
    double expected = 0;
    for (std::size_t k = 0; k < dy.size(); ++k) expected += dy.data()[k] * fx.data()[k];
    CHECK(r.dalpha(0) == doctest::Approx(expected).epsilon(1e-13));
    for (double g : r.block.layer<0>().dW) CHECK(g == 0.0);  // F's gradients are alpha times 0
}

TEST_CASE("ReZero gradients match finite differences, alpha's included, in train and inference mode") {
    ReZero<Dense<6, 6>, LayerNorm<6>, GELU>::rebind<double> r;
    init(r, 7);
    r.alpha(0) = 0.7;
    const Matrix<double> x = random_matrix(5, 6, 61);
    require_gradients(r, x, Mode::train);
    require_gradients(r, x, Mode::inference);
    r.alpha(0) = 0;  // at 0 too: only alpha (and x) have a gradient
    require_gradients(r, x, Mode::train);
    const GradientCheck check = check_gradients(r, x);
    CHECK(check.tensors.back().name == "rezero/alpha");
}

TEST_CASE("a stack of ReZero blocks between Dense layers has correct gradients, also with parameters_only") {
    using Net = Sequential<Dense<5, 6>, ReZero<Dense<6, 6>, BatchNorm<6>, ReLU>, ReZero<Dense<6, 6>, Tanh>, Dense<6, 3>>;
    Net::rebind<double> net;
    init(net, 8);
    net.layer<1>().alpha(0) = 0.3;
    net.layer<2>().alpha(0) = -0.6;
    const Matrix<double> x = random_matrix(6, 5, 62);
    require_gradients(net, x, Mode::train);
    require_gradients(net, x, Mode::inference);
    // backward(dy, parameters_only) leaves the same parameter gradients, alpha's included
    const Matrix<double> dy = random_matrix(6, 3, 63);
    net.forward(x, Mode::train);
    net.backward(dy);
    const double full = net.layer<1>().dalpha(0);
    const Matrix<double> dW = net.layer<1>().block.layer<0>().dW;
    net.forward(x, Mode::train);
    net.layer<1>().dalpha(0) = 0;
    net.backward(dy, parameters_only);
    CHECK(net.layer<1>().dalpha(0) == full);
    CHECK(net.layer<1>().block.layer<0>().dW == dW);
    ReZero<Dense<6, 6, double>> alone;  // as the first layer of a network: the tag reaches its block
    const Matrix<double> x6 = random_matrix(3, 6, 64);
    alone.alpha(0) = 2;
    alone.forward(x6, Mode::train);
    alone.backward(x6, parameters_only);
    CHECK(alone.dalpha(0) != 0.0);
}

TEST_CASE("ReZero is a composite and a leaf with one parameter, alpha, named after its block's") {
    Sequential<Dense<3, 4>, ReZero<Dense<4, 4>>> net;
    std::vector<std::string> names;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "rezero/alpha"});
    static_assert(ReZero<Dense<4, 4>>::parameter_count == 4 * 4 + 4 + 1);
    static_assert(decltype(net)::parameter_count == 3 * 4 + 4 + 4 * 4 + 4 + 1);
    static_assert(CompositeLayer<ReZero<Dense<4, 4>>> && LeafLayer<ReZero<Dense<4, 4>>>);
    static_assert(std::is_same_v<ReZero<Dense<4, 4>>::rebind<double>::scalar_type, double>);
}

TEST_CASE("a ReZero of width-agnostic layers keeps any width") {
    ReZero<Tanh> r;
    static_assert(decltype(r)::in_features == any_width);
    const Matrix<float> x = random_matrix<float>(3, 9, 5);
    CHECK(r.forward(x, Mode::train) == x);
}

TEST_CASE("ReZero's alpha gradient is the same bits for a fixed thread count") {
    ReZero<Dense<64, 64>> r;
    r.alpha(0) = 0.25f;
    const Matrix<float> x = random_matrix<float>(256, 64, 6), dy = random_matrix<float>(256, 64, 7);
    auto run = [&](std::size_t threads) {
        set_threads(threads);
        r.forward(x, Mode::train);
        const Matrix<float> dx = r.backward(dy);
        set_threads(1);
        return std::pair{r.dalpha(0), dx};
    };
    const auto one = run(1), two = run(2);
    CHECK(run(2) == two);
    CHECK(two.first == doctest::Approx(one.first).epsilon(1e-5));  // summed in another order
}

TEST_CASE("ReZero backward checks the gradient's shape and that forward ran") {
    ReZero<Dense<3, 3, double>> r;
    CHECK_THROWS_AS(r.backward(zeros<double>(4, 3)), std::logic_error);
    const Matrix<double> x = random_matrix(4, 3, 9);
    r.forward(x, Mode::train);
    CHECK_THROWS_WITH_AS(r.backward(zeros<double>(4, 2)),
                         "layerwise: ReZero backward: dy has shape (4 x 2), expected (4 x 3)", std::invalid_argument);
    forget_inputs(r);  // the block's Dense and the ReZero itself (which points at the block's output)
    CHECK_THROWS_WITH_AS(r.backward(zeros<double>(4, 3)), "layerwise: ReZero: backward called before forward",
                         std::logic_error);
}

TEST_CASE("a ReZero's unfused twin computes the same with each layer of its block on its own") {
    using Net = Sequential<Dense<4, 6>, ReZero<Dense<6, 6>, BatchNorm<6>, ReLU>, Dense<6, 2>>;
    static_assert(std::is_same_v<unfused_t<Net>, UnfusedSequential<Dense<4, 6>, ReZeroOf<UnfusedSequential<Dense<6, 6>, BatchNorm<6>, ReLU>>, Dense<6, 2>>>);
    Net net;
    unfused_t<Net> twin;
    init(net, 4);
    net.layer<1>().alpha(0) = 0.5f;
    copy_parameters(net, twin);
    const Matrix<float> x = random_matrix<float>(5, 4, 10);
    const Matrix<float> y = net.forward(x, Mode::train);
    CHECK(twin.forward(x, Mode::train) == y);
    CHECK(twin.layer<1>().block.layer<2>().output().shape(0) == 5);  // the ReLU's own output
}

TEST_CASE("freeze copies a ReZero whole, alpha included, and leaves the copy pointing at nothing of the original's") {
    using Net = Sequential<Dense<4, 6>, ReZero<Dense<6, 6>, BatchNorm<6>>, Dense<6, 2>>;
    Net net;
    init(net, 5);
    net.layer<1>().alpha(0) = 0.75f;
    const Matrix<float> x = random_matrix<float>(5, 4, 11);
    net.forward(x, Mode::train);  // moves the moving statistics, so inference is not trivial
    const Matrix<float> y = net.forward(x, Mode::inference);
    auto frozen = freeze(net);
    CHECK(frozen.layer<1>().alpha(0) == 0.75f);
    CHECK_THROWS_AS(frozen.layer<1>().backward(zeros<float>(5, 6)), std::logic_error);
    const Matrix<float> yf = frozen.forward(x, Mode::inference);
    for (std::size_t k = 0; k < y.size(); ++k) CHECK(yf.data()[k] == doctest::Approx(y.data()[k]).epsilon(1e-6));
}
