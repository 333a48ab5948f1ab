#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/predict.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;

namespace {
using BnNet = Sequential<Dense<6, 8>, BatchNorm<8>, ReLU, Dense<8, 4>>;

// A BatchNorm network whose moving statistics are far from their initial 0 and 1, so that
// inference mode visibly differs from train mode.
void init_bn_net(BnNet& net, std::uint64_t seed) {
    init(net, seed);
    auto& bn = net.layer_as_declared<1>();
    for (std::size_t j = 0; j < 8; ++j) {
        bn.moving_mean(j) = 0.1f * float(j) - 0.3f;
        bn.moving_variance(j) = 0.5f + 0.2f * float(j);
        bn.gamma(j) = 1.0f + 0.05f * float(j);
        bn.beta(j) = 0.02f * float(j);
    }
}
}  // namespace

TEST_CASE("probabilities and predict of a Dense network, by hand") {
    Sequential<Dense<2, 3, double>> net;
    net.layer<0>().W = {{1, 0, -1}, {0, 2, 1}};
    net.layer<0>().b = {0.5, 0, 0};
    const Matrix<double> x = {{1, 1}, {2, -1}, {0, 0}};
    // logits: (1.5, 2, 0), (2.5, -2, -3), (0.5, 0, 0)
    const Matrix<double> z = {{1.5, 2, 0}, {2.5, -2, -3}, {0.5, 0, 0}};
    const Matrix<double> p = probabilities(net, x);
    REQUIRE(p.shape(0) == 3);
    REQUIRE(p.shape(1) == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        const double s = std::exp(z(i, 0)) + std::exp(z(i, 1)) + std::exp(z(i, 2));
        for (std::size_t k = 0; k < 3; ++k) CHECK(p(i, k) == doctest::Approx(std::exp(z(i, k)) / s).epsilon(1e-14));
    }
    CHECK(predict(net, x) == std::vector<int>{1, 0, 0});
    CHECK(outputs(net, x) == z);
}

TEST_CASE("probabilities are SoftmaxCrossEntropy's on the same logits, and every row sums to 1") {
    BnNet net;
    init_bn_net(net, 3);
    const Matrix<float> x = random_matrix<float>(9, 6, 31, -2, 2);
    const Matrix<float> logits = net.forward(x, Mode::inference);
    SoftmaxCrossEntropy<float> loss;
    loss.forward(logits, std::vector<int>(9, 0));
    const Matrix<float> p = probabilities(net, x);
    CHECK(p == loss.probabilities());  // one softmax formula: identical bits
    for (std::size_t i = 0; i < 9; ++i) {
        double s = 0;
        for (std::size_t k = 0; k < 4; ++k) s += double(p(i, k));
        CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
    }
    const std::vector<int> c = predict(net, x);
    REQUIRE(c.size() == 9);
    for (std::size_t i = 0; i < 9; ++i) {
        std::size_t best = 0;
        for (std::size_t k = 1; k < 4; ++k)
            if (logits(i, k) > logits(i, best)) best = k;
        CHECK(c[i] == int(best));
    }
}

TEST_CASE("huge logits give finite probabilities (the row maximum is subtracted)") {
    Sequential<Dense<1, 3>> net;
    net.layer<0>().W = {{1000.f, 999.f, -1000.f}};
    const Matrix<float> x = {{1.f}};
    const Matrix<float> p = probabilities(net, x);
    CHECK(p(0, 0) == doctest::Approx(1 / (1 + std::exp(-1.0))));
    CHECK(p(0, 1) == doctest::Approx(std::exp(-1.0) / (1 + std::exp(-1.0))));
    CHECK(p(0, 2) == 0.0f);
}

TEST_CASE("inference is per sample: a batch of one row through BatchNorm gives that row of a larger batch") {
    BnNet net;
    init_bn_net(net, 4);
    const Matrix<float> x = random_matrix<float>(5, 6, 41, -2, 2);
    const Matrix<float> all = probabilities(net, x);
    const std::vector<int> classes = predict(net, x);
    for (std::size_t i = 0; i < 5; ++i) {
        const MatrixView<float> row = MatrixView<float>(x).row_range(i, 1);
        const Matrix<float> one = probabilities(net, row);
        REQUIRE(one.shape(0) == 1);
        for (std::size_t k = 0; k < 4; ++k) CHECK(one(0, k) == doctest::Approx(all(i, k)).epsilon(1e-6));
        CHECK(predict(net, row) == std::vector<int>{classes[i]});
    }
    // in train mode a batch of one is refused: the difference is the mode, not the size
    const Matrix<float> one_row = random_matrix<float>(1, 6, 42);
    CHECK_THROWS_AS(net.forward(one_row, Mode::train), std::invalid_argument);
}

TEST_CASE("batch_size cuts the input without changing the answers") {
    BnNet net;
    init_bn_net(net, 5);
    const Matrix<float> x = random_matrix<float>(7, 6, 51, -2, 2);
    const Matrix<float> whole = probabilities(net, x);
    const Matrix<float> in_threes = probabilities(net, x, 3);  // 3 + 3 + 1 rows
    for (std::size_t k = 0; k < whole.size(); ++k)
        CHECK(in_threes.data()[k] == doctest::Approx(whole.data()[k]).epsilon(1e-6));
    CHECK(predict(net, x, 2) == predict(net, x));
    CHECK_THROWS_WITH_AS(predict(net, x, 0), "layerwise: predict: batch_size must be at least 1",
                         std::invalid_argument);
}

TEST_CASE("predict takes the user's memory as a view, with the Matrix path's answers") {
    BnNet net;
    init_bn_net(net, 6);
    const Matrix<float> m = random_matrix<float>(4, 6, 61, -2, 2);
    const std::vector<float> v(m.begin(), m.end());
    CHECK(probabilities(net, rows_of(v, 4)) == probabilities(net, m));
    CHECK(predict(net, MatrixView<float>(v.data(), 4, 6)) == predict(net, m));
    Sequential<BatchNorm<6>, Dense<6, 3>> copying;  // the copy case answers the same
    init(copying, 7);
    CHECK(predict(copying, rows_of(v, 4)) == predict(copying, m));
    CHECK_THROWS_WITH_AS(predict(net, rows_of(v, 3)),
                         "layerwise: forward: the input has 8 columns, the network takes 6", std::invalid_argument);
}

TEST_CASE("after predict the layers have forgotten the input: backward is an error, and a temporary is fine") {
    BnNet net;
    init_bn_net(net, 7);
    const std::vector<int> c = predict(net, random_matrix<float>(3, 6, 71));  // a temporary Matrix
    CHECK(c.size() == 3);
    CHECK(net.layer<0>().input_data() == nullptr);
    CHECK_THROWS_WITH_AS(net.backward(zeros<float>(3, 4)), "layerwise: Dense: backward called before forward",
                         std::logic_error);
    const std::vector<float> none;
    CHECK_THROWS_WITH_AS(predict(net, MatrixView<float>(none.data(), 0, 6)),
                         "layerwise: predict: the batch is empty (0 rows)", std::invalid_argument);
}

TEST_CASE("predict, outputs and probabilities name a row with a NaN or an infinity by its row in x") {
    BnNet net;
    Matrix<float> x = random_matrix<float>(300, 6, 4);
    x(200, 5) = -std::numeric_limits<float>::infinity();  // in the second batch of 128
    try {
        predict(net, x);
        FAIL("no error for an infinite feature");
    } catch (const SampleError& e) {
        CHECK(std::string(e.what()) == "layerwise: predict: sample 200: feature 5 is -inf");
        CHECK(e.sample() == 200);
    }
    CHECK_THROWS_WITH_AS(outputs(net, x), "layerwise: outputs: sample 200: feature 5 is -inf", SampleError);
    x(200, 5) = 0;
    x(7, 0) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(probabilities(net, x), "layerwise: probabilities: sample 7: feature 0 is NaN", SampleError);
}
