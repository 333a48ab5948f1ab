#include "testing.hpp"

#include <layerwise/layers/batch_norm.hpp>

#include <cmath>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

namespace {
// Column mean and biased variance, computed the slow way.
std::pair<double, double> column_stats(const Matrix<double>& x, std::size_t j) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < x.shape(0); ++i) mean += x(i, j);
    mean /= double(x.shape(0));
    for (std::size_t i = 0; i < x.shape(0); ++i) var += (x(i, j) - mean) * (x(i, j) - mean);
    return {mean, var / double(x.shape(0))};
}
}  // namespace

TEST_CASE("BatchNorm in train mode normalises with the batch mean and biased variance") {
    BatchNorm<3, double> bn;
    bn.gamma = {1.0, 2.0, 0.5};
    bn.beta = {0.0, 1.0, -1.0};
    const Matrix<double> x = random_matrix(6, 3, 21, -3, 5);
    const auto& y = bn.forward(x, Mode::train);
    for (std::size_t j = 0; j < 3; ++j) {
        const auto [mean, var] = column_stats(x, j);
        for (std::size_t i = 0; i < 6; ++i)
            CHECK(y(i, j) == doctest::Approx((x(i, j) - mean) / std::sqrt(var + 1e-3) * bn.gamma(j) + bn.beta(j)));
    }
}

TEST_CASE("BatchNorm moving statistics after k steps match a hand computation") {
    BatchNorm<2, double> bn;
    double mm[2] = {0, 0}, mv[2] = {1, 1};  // Keras' initial moving mean and variance
    for (std::uint64_t step = 0; step < 5; ++step) {
        const Matrix<double> x = random_matrix(8, 2, 100 + step, -2, 4);
        bn.forward(x, Mode::train);
        for (std::size_t j = 0; j < 2; ++j) {
            const auto [mean, var] = column_stats(x, j);
            mm[j] = 0.99 * mm[j] + 0.01 * mean;
            mv[j] = 0.99 * mv[j] + 0.01 * var;
        }
    }
    for (std::size_t j = 0; j < 2; ++j) {
        CHECK(bn.moving_mean(j) == doctest::Approx(mm[j]).epsilon(1e-12));
        CHECK(bn.moving_variance(j) == doctest::Approx(mv[j]).epsilon(1e-12));
    }
}

TEST_CASE("BatchNorm's momentum is a setting: moving = m moving + (1 - m) batch") {
    BatchNorm<2, double> bn;
    bn.momentum = 0.9;
    const Matrix<double> x = random_matrix(8, 2, 7, -2, 4);
    bn.forward(x, Mode::train);
    for (std::size_t j = 0; j < 2; ++j) {
        const auto [mean, var] = column_stats(x, j);
        CHECK(bn.moving_mean(j) == doctest::Approx(0.1 * mean).epsilon(1e-12));
        CHECK(bn.moving_variance(j) == doctest::Approx(0.9 + 0.1 * var).epsilon(1e-12));
    }
}

TEST_CASE("BatchNorm zero-debiased averages (Keras 2.1.5) equal the batch after one step") {
    BatchNorm<2, double> bn;
    bn.zero_debias = true;
    const Matrix<double> x1 = random_matrix(8, 2, 5, -2, 4);
    bn.forward(x1, Mode::train);
    for (std::size_t j = 0; j < 2; ++j) {
        const auto [mean, var] = column_stats(x1, j);
        CHECK(bn.moving_mean(j) == doctest::Approx(mean).epsilon(1e-12));
        CHECK(bn.moving_variance(j) == doctest::Approx(var).epsilon(1e-12));
    }
    const Matrix<double> x2 = random_matrix(8, 2, 6, -2, 4);
    bn.forward(x2, Mode::train);
    for (std::size_t j = 0; j < 2; ++j) {  // a = 0.99 a + 0.01 m, moving = a / (1 - 0.99^2)
        const double m1 = column_stats(x1, j).first, m2 = column_stats(x2, j).first;
        const double a = 0.99 * (0.01 * m1) + 0.01 * m2;
        CHECK(bn.moving_mean(j) == doctest::Approx(a / (1 - 0.99 * 0.99)).epsilon(1e-12));
    }
}

TEST_CASE("BatchNorm in inference mode uses the moving statistics and leaves them alone") {
    BatchNorm<2, double> bn;
    bn.moving_mean = {1.0, -2.0};
    bn.moving_variance = {4.0, 0.25};
    bn.gamma = {2.0, 1.0};
    bn.beta = {0.5, 0.0};
    const Matrix<double> x = random_matrix(5, 2, 9, -3, 3);
    const Matrix<double> y = bn.forward(x, Mode::inference);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(y(i, 0) == doctest::Approx((x(i, 0) - 1.0) / std::sqrt(4.0 + 1e-3) * 2.0 + 0.5));
        CHECK(y(i, 1) == doctest::Approx((x(i, 1) + 2.0) / std::sqrt(0.25 + 1e-3)));
    }
    CHECK(bn.moving_mean(0) == 1.0);
    CHECK(bn.moving_variance(1) == 0.25);
    // Train mode on the same batch normalises with the batch's own statistics instead.
    const Matrix<double> t = bn.forward(x, Mode::train);
    CHECK(t(0, 0) != doctest::Approx(y(0, 0)));
    double column_mean = 0;
    for (std::size_t i = 0; i < 5; ++i) column_mean += (t(i, 1) - bn.beta(1)) / 5;
    CHECK(column_mean == doctest::Approx(0.0).epsilon(1e-12).scale(1));
}

TEST_CASE("BatchNorm gradients match finite differences in train mode (statistics depend on x)") {
    BatchNorm<4, double> bn;
    bn.gamma = {1.5, -0.5, 2.0, 0.7};
    bn.beta = {0.1, 0.2, -0.3, 0.0};
    require_gradients(bn, random_matrix(7, 4, 31, -2, 3), Mode::train);
}

TEST_CASE("BatchNorm gradients match finite differences in inference mode") {
    BatchNorm<4, double> bn;
    bn.moving_mean = {0.5, -1, 0, 2};
    bn.moving_variance = {2, 0.5, 1, 3};
    require_gradients(bn, random_matrix(7, 4, 32), Mode::inference);
}

TEST_CASE("BatchNorm names its parameters as Keras does and marks moving statistics untrainable") {
    BatchNorm<3> bn;
    std::vector<std::tuple<std::string, bool, Initializer>> seen;
    bn.visit_parameters([&](std::string_view kind, auto&, auto&, bool trainable, Initializer how) {
        seen.emplace_back(kind, trainable, how);
    });
    CHECK(seen == std::vector<std::tuple<std::string, bool, Initializer>>{{"gamma", true, Initializer::ones},
                                                                          {"beta", true, Initializer::zeros},
                                                                          {"moving_mean", false, Initializer::zeros},
                                                                          {"moving_variance", false, Initializer::ones}});
}

TEST_CASE("BatchNorm rejects a wrong width") {
    BatchNorm<3> bn;
    const Matrix<float> x = zeros<float>(2, 5);
    CHECK_THROWS_WITH_AS(bn.forward(x, Mode::train), "layerwise: BatchNorm<3>: input has 5 columns, expected 3",
                         std::invalid_argument);
}

TEST_CASE("BatchNorm in train mode refuses a batch of one (as PyTorch does) and leaves its statistics alone") {
    BatchNorm<3> bn;
    const Matrix<float> one = layerwise::testing::random_matrix<float>(1, 3, 2), none = zeros<float>(0, 3);
    CHECK_THROWS_WITH_AS(bn.forward(one, Mode::train),
                         "layerwise: BatchNorm<3>: train mode needs a batch of at least 2 rows, got 1 (the batch "
                         "variance of one sample is 0, so every output would be beta)",
                         std::invalid_argument);
    for (float m : bn.moving_mean) CHECK(m == 0.0f);
    for (float v : bn.moving_variance) CHECK(v == 1.0f);
    CHECK_THROWS_WITH_AS(bn.forward(none, Mode::inference), "layerwise: BatchNorm: the batch is empty (0 rows)",
                         std::invalid_argument);
    CHECK(bn.forward(one, Mode::inference).shape(0) == 1);  // inference uses the moving statistics: fine
}

TEST_CASE("BatchNorm backward checks the gradient's shape and that forward ran") {
    BatchNorm<3, double> bn;
    CHECK_THROWS_AS(bn.backward(zeros<double>(4, 3)), std::logic_error);
    const Matrix<double> x = layerwise::testing::random_matrix(4, 3, 9);  // kept for backward (xhat is recomputed)
    bn.forward(x, Mode::train);
    CHECK_THROWS_WITH_AS(bn.backward(zeros<double>(4, 2)),
                         "layerwise: BatchNorm backward: dy has shape (4 x 2), expected (4 x 3)", std::invalid_argument);
}
