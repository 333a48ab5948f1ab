#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

// A 6-layer network with BatchNorm, small enough to check by finite differences.
using SmallBn = Sequential<Dense<5, 8>, BatchNorm<8>, ReLU, Repeat<4, Dense<8, 8>, BatchNorm<8>, ReLU>, Dense<8, 3>>;

TEST_CASE("Sequential widths and parameter counts come from its layers") {
    static_assert(SmallBn::in_features == 5 && SmallBn::out_features == 3);
    static_assert(SmallBn::parameter_count == (5 * 8 + 8) + 32 + 4 * (72 + 32) + 27);
    static_assert(Sequential<ReLU, Dense<4, 6>, Tanh>::in_features == 4);
    static_assert(Sequential<ReLU, Dense<4, 6>, Tanh>::out_features == 6);
    static_assert(Sequential<ReLU, Tanh>::in_features == any_width);
    static_assert(std::is_same_v<SmallBn::scalar_type, float>);
    static_assert(std::is_same_v<SmallBn::rebind<double>::scalar_type, double>);
    static_assert(Layer<SmallBn> && Layer<Dense<2, 3>> && Layer<ReLU> && Layer<BatchNorm<4>>);
}

TEST_CASE("Sequential forward applies the layers in order and backward in reverse") {
    Sequential<Dense<2, 2, double>, Activation<relu_fn, double>> net;
    auto& dense = net.layer<0>();
    dense.W = {{1, -1}, {1, 1}};
    const Matrix<double> x = {{1, 2}};
    CHECK(net.forward(x, Mode::train) == Matrix<double>{{3, 1}});
    dense.W = {{1, 0}, {0, -1}};  // now the second unit is negative: ReLU blocks its gradient
    net.forward(x, Mode::train);
    CHECK(net.backward(Matrix<double>{{1, 1}}) == Matrix<double>{{1, 0}});
}

TEST_CASE("a 6-layer BatchNorm network's gradients match finite differences") {
    SmallBn::rebind<double> net;
    init(net, 5);
    require_gradients(net, random_matrix(6, 5, 51));
}

TEST_CASE("a Tanh and Sigmoid stack's gradients match finite differences") {
    Sequential<Dense<4, 6>, Tanh, Dense<6, 5>, Sigmoid, Dense<5, 2>>::rebind<double> net;
    init(net, 6);
    require_gradients(net, random_matrix(3, 4, 52));
}

TEST_CASE("runtime bad input is a clear exception") {
    SmallBn net;
    init(net, 1);
    SUBCASE("wrong number of columns") {
        const Matrix<float> x = zeros<float>(4, 6);
        CHECK_THROWS_WITH_AS(net.forward(x, Mode::train),
                             "layerwise: Dense<5, 8>: input has 6 columns, expected 5", std::invalid_argument);
    }
    SUBCASE("empty batch") {
        const Matrix<float> x = zeros<float>(0, 5);
        CHECK_THROWS_WITH_AS(net.forward(x, Mode::train),
                             "layerwise: forward: the batch is empty (0 rows)", std::invalid_argument);
    }
    SUBCASE("gradient of the wrong shape") {
        const Matrix<float> x = zeros<float>(4, 5);
        net.forward(x, Mode::train);
        CHECK_THROWS_AS(net.backward(zeros<float>(4, 2)), std::invalid_argument);
    }
}

TEST_CASE("NaN in the input reaches the output instead of crashing or vanishing") {
    SmallBn net;
    init(net, 2);
    Matrix<float> x = random_matrix<float>(4, 5, 53);
    x(1, 2) = std::numeric_limits<float>::quiet_NaN();
    for (Mode mode : {Mode::train, Mode::inference}) {
        const auto& y = net.forward(x, mode);
        bool any_nan = false;
        for (float v : y) any_nan = any_nan || std::isnan(v);
        CHECK(any_nan);
    }
}

TEST_CASE("batch size may change between calls") {
    SmallBn net;
    init(net, 3);
    const Matrix<float> seven = zeros<float>(7, 5), two = zeros<float>(2, 5);  // inputs outlive backward
    CHECK(net.forward(seven, Mode::train).shape(0) == 7);
    CHECK(net.backward(zeros<float>(7, 3)).shape(0) == 7);
    CHECK(net.forward(two, Mode::inference).shape(0) == 2);
}

// Every trainable gradient of the network, copied, in visiting order.
template <class Net>
std::vector<Matrix<double>> parameter_gradients(Net& net) {
    std::vector<Matrix<double>> out;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (p.trainable) out.push_back(Matrix<double>(xt::reshape_view(grad, {std::size_t{1}, grad.size()})));
    });
    return out;
}

template <class Net>
void require_parameters_only_matches_full_backward(std::uint64_t seed) {
    Net full, partial;
    init(full, seed);
    init(partial, seed);
    const Matrix<double> x = random_matrix(6, Net::in_features, seed + 1);
    const Matrix<double> dy = random_matrix(6, Net::out_features, seed + 2);
    full.forward(x, Mode::train);
    full.backward(dy);
    partial.forward(x, Mode::train);
    partial.backward(dy, parameters_only);
    const auto a = parameter_gradients(full), b = parameter_gradients(partial);
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == b[k]);  // the same operations: identical bits
}

TEST_CASE("backward(dy, parameters_only) gives the parameter gradients of backward(dy), bit for bit") {
    // first layers: Dense; Repeat of blocks starting with a Residual; a Residual
    require_parameters_only_matches_full_backward<
        Sequential<Dense<5, 8>, BatchNorm<8>, ReLU,
                   Repeat<2, Dense<8, 8>, BatchNorm<8>, ReLU, Residual<Dense<8, 8>, BatchNorm<8>>, ReLU>,
                   Dense<8, 3>>::rebind<double>>(61);
    require_parameters_only_matches_full_backward<
        Sequential<Repeat<2, Residual<Dense<8, 8>, ReLU>, ReLU>, Dense<8, 3>>::rebind<double>>(62);
    require_parameters_only_matches_full_backward<Sequential<Residual<Dense<4, 4>>, Dense<4, 2>>::rebind<double>>(63);
}

TEST_CASE("backward(dy, parameters_only) leaves the first Dense's input gradient alone") {
    Sequential<Dense<3, 4, double>, Dense<4, 2, double>> net;
    init(net, 7);
    const Matrix<double> x = random_matrix(2, 3, 71), dy = random_matrix(2, 2, 72);
    net.forward(x, Mode::train);
    const Matrix<double> dx = net.backward(dy);
    const Matrix<double> dh = net.layer<1>().input_gradient();
    net.forward(x, Mode::train);
    net.backward(Matrix<double>(2 * dy), parameters_only);
    CHECK(net.layer<0>().input_gradient() == dx);  // not recomputed for the doubled dy ...
    CHECK(net.layer<1>().input_gradient() == Matrix<double>(2 * dh));  // ... while the layers after it were
}

TEST_CASE("a view goes straight to a first Dense: no copy, the Matrix path's results bit for bit") {
    using Net = Sequential<Dense<5, 8>, BatchNorm<8>, ReLU, Dense<8, 3>>;
    static_assert(!Net::copies_views);
    Net by_view, by_matrix;
    init(by_view, 8);
    init(by_matrix, 8);
    const Matrix<float> m = random_matrix<float>(6, 5, 81);
    const std::vector<float> v(m.begin(), m.end());
    const Matrix<float> dy = random_matrix<float>(6, 3, 82);
    for (Mode mode : {Mode::train, Mode::inference}) {
        CHECK(by_view.forward(rows_of(v, 6), mode) == by_matrix.forward(m, mode));
        CHECK(by_view.layer<0>().input_data() == v.data());  // the user's memory itself
        CHECK(by_view.staged_input().size() == 0);            // and no staging copy was made
    }
    by_view.forward(MatrixView<float>(v.data(), 6, 5), Mode::train);  // a raw pointer and a row count
    by_matrix.forward(m, Mode::train);
    CHECK(by_view.backward(dy) == by_matrix.backward(dy));
    CHECK(by_view.layer<0>().dW == by_matrix.layer<0>().dW);
}

TEST_CASE("a view given to a network whose first layer is not Dense is copied into the network's buffer") {
    using Net = Sequential<BatchNorm<5>, Dense<5, 4>, ReLU, Dense<4, 2>>;
    static_assert(Net::copies_views && !ViewInput<BatchNorm<5>> && ViewInput<Dense<5, 4>>);
    static_assert(Sequential<Net, ReLU>::copies_views);  // the copy is made by the nested network
    static_assert(!Sequential<Sequential<Dense<5, 4>>, ReLU>::copies_views);
    Net by_view, by_matrix;
    init(by_view, 9);
    init(by_matrix, 9);
    const Matrix<float> m = random_matrix<float>(4, 5, 91);
    const std::vector<float> v(m.begin(), m.end());
    CHECK(by_view.forward(rows_of(v, 4), Mode::train) == by_matrix.forward(m, Mode::train));
    CHECK(by_view.staged_input() == m);                 // the copy ...
    CHECK(by_view.staged_input().data() != v.data());   // ... in the network's own memory
    const Matrix<float> dy = random_matrix<float>(4, 2, 92);
    CHECK(by_view.backward(dy) == by_matrix.backward(dy));
    CHECK(by_view.layer<1>().dW == by_matrix.layer<1>().dW);
}

TEST_CASE("a view with the wrong number of columns, or no rows, is a clear exception") {
    SmallBn net;
    init(net, 1);
    const std::vector<float> v(12, 0.0f);
    CHECK_THROWS_WITH_AS(net.forward(rows_of(v, 2), Mode::train),
                         "layerwise: forward: the input has 6 columns, the network takes 5", std::invalid_argument);
    CHECK_THROWS_WITH_AS(net.forward(MatrixView<float>(v.data(), 0, 5), Mode::train),
                         "layerwise: forward: the batch is empty (0 rows)", std::invalid_argument);
    Sequential<BatchNorm<5>, Dense<5, 2>> copying;  // refused before anything is copied
    CHECK_THROWS_WITH_AS(copying.forward(rows_of(v, 3), Mode::train),
                         "layerwise: forward: the input has 4 columns, the network takes 5", std::invalid_argument);
    CHECK(copying.staged_input().size() == 0);
}
