#include "testing.hpp"

#include <layerwise/compose/sequential.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/dense.hpp>
#include <layerwise/layers/layer_norm.hpp>

#include <cmath>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

namespace {
// Row mean and biased variance, computed the slow way.
std::pair<double, double> row_stats(const Matrix<double>& x, std::size_t i) {
    double mean = 0, var = 0;
    for (std::size_t j = 0; j < x.shape(1); ++j) mean += x(i, j);
    mean /= double(x.shape(1));
    for (std::size_t j = 0; j < x.shape(1); ++j) var += (x(i, j) - mean) * (x(i, j) - mean);
    return {mean, var / double(x.shape(1))};
}
}  // namespace

TEST_CASE("LayerNorm normalises each row with its own mean and biased variance") {
    LayerNorm<4, double> ln;
    SUBCASE("a row by hand: mean 2.5, variance 1.25") {
        const Matrix<double> x = {{1, 2, 3, 4}};
        const auto& y = ln.forward(x, Mode::train);
        const double s = std::sqrt(1.25 + 1e-3);
        const double expected[4] = {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s};
        for (std::size_t j = 0; j < 4; ++j) CHECK(y(0, j) == doctest::Approx(expected[j]).epsilon(1e-15));
    }
    SUBCASE("random rows, with gamma and beta") {
        ln.gamma = {1.0, 2.0, 0.5, -1.0};
        ln.beta = {0.0, 1.0, -1.0, 0.25};
        const Matrix<double> x = random_matrix(6, 4, 21, -3, 5);
        const auto& y = ln.forward(x, Mode::train);
        for (std::size_t i = 0; i < 6; ++i) {
            const auto [mean, var] = row_stats(x, i);
            for (std::size_t j = 0; j < 4; ++j)
                CHECK(y(i, j) == doctest::Approx((x(i, j) - mean) / std::sqrt(var + 1e-3) * ln.gamma(j) + ln.beta(j)));
        }
    }
}

TEST_CASE("LayerNorm's epsilon is a setting (Keras' 1e-3 by default, PyTorch's 1e-5 on request)") {
    LayerNorm<3, double> keras, torch;
    CHECK(keras.epsilon == 1e-3);
    torch.epsilon = 1e-5;
    const Matrix<double> x = {{0.0, 0.1, 0.2}};  // variance 0.02/3: epsilon shows
    const double var = 0.02 / 3;
    CHECK(keras.forward(x, Mode::train)(0, 0) == doctest::Approx(-0.1 / std::sqrt(var + 1e-3)).epsilon(1e-14));
    CHECK(torch.forward(x, Mode::train)(0, 0) == doctest::Approx(-0.1 / std::sqrt(var + 1e-5)).epsilon(1e-14));
}

TEST_CASE("LayerNorm computes the same in train and inference mode, for any batch size") {
    LayerNorm<5, double> ln;
    ln.gamma = {1, 2, 3, 4, 5};
    const Matrix<double> x = random_matrix(7, 5, 22);
    const Matrix<double> train = ln.forward(x, Mode::train);
    CHECK(ln.forward(x, Mode::inference) == train);
    const Matrix<double> one = random_matrix(1, 5, 23);  // one sample is fine: the statistics are per sample
    const Matrix<double> y = ln.forward(one, Mode::train);
    double sum = 0;
    for (std::size_t j = 0; j < 5; ++j) sum += y(0, j) / ln.gamma(j);
    CHECK(sum == doctest::Approx(0.0).scale(1).epsilon(1e-12));
}

TEST_CASE("LayerNorm gradients match finite differences in train and inference mode") {
    LayerNorm<6, double> ln;
    ln.gamma = {1.5, -0.5, 2.0, 0.7, 1.0, 0.3};
    ln.beta = {0.1, 0.2, -0.3, 0.0, 0.5, -1.0};
    const Matrix<double> x = random_matrix(5, 6, 31, -2, 3);
    require_gradients(ln, x, Mode::train);
    require_gradients(ln, x, Mode::inference);
}

TEST_CASE("LayerNorm inside a network of Dense layers has correct gradients") {
    Sequential<Dense<5, 8>, LayerNorm<8>, Tanh, Dense<8, 3>>::rebind<double> net;
    init(net, 3);
    const Matrix<double> gamma = random_matrix(1, 8, 4, 0.5, 1.5);
    std::copy(gamma.begin(), gamma.end(), net.layer<1>().gamma.begin());
    const Matrix<double> x = random_matrix(6, 5, 32);
    require_gradients(net, x, Mode::train);
    require_gradients(net, x, Mode::inference);
}

TEST_CASE("LayerNorm gives the same bits for a fixed thread count, and the same y and dx for any") {
    LayerNorm<64> ln;
    for (std::size_t j = 0; j < 64; ++j) ln.gamma(j) = 1.0f + 0.01f * float(j);
    const Matrix<float> x = random_matrix<float>(256, 64, 33, -2, 2);  // 16384 elements: two bands on two threads
    const Matrix<float> dy = random_matrix<float>(256, 64, 34);
    auto run = [&](std::size_t threads) {
        set_threads(threads);
        const Matrix<float> y = ln.forward(x, Mode::train);
        const Matrix<float> dx = ln.backward(dy);
        set_threads(1);
        return std::tuple{y, dx, Vector<float>(ln.dgamma), Vector<float>(ln.dbeta)};
    };
    const auto one = run(1), two = run(2), again = run(2);
    CHECK(two == again);
    CHECK(std::get<0>(one) == std::get<0>(two));  // each row on one thread: the same bits
    CHECK(std::get<1>(one) == std::get<1>(two));
    for (std::size_t j = 0; j < 64; ++j)  // the column sums are added in another order
        CHECK(std::get<2>(one)(j) == doctest::Approx(std::get<2>(two)(j)).epsilon(1e-5));
}

TEST_CASE("LayerNorm names its parameters gamma (ones) and beta (zeros)") {
    LayerNorm<3> ln;
    std::vector<std::tuple<std::string, bool, Initializer>> seen;
    ln.visit_parameters([&](std::string_view kind, auto&, auto&, bool trainable, Initializer how) {
        seen.emplace_back(kind, trainable, how);
    });
    CHECK(seen == std::vector<std::tuple<std::string, bool, Initializer>>{{"gamma", true, Initializer::ones},
                                                                          {"beta", true, Initializer::zeros}});
    static_assert(LayerNorm<3>::parameter_count == 6 && LayerNorm<3>::name == "layer_normalization");
    static_assert(std::is_same_v<LayerNorm<3>::rebind<double>, LayerNorm<3, double>>);
    for (float g : ln.gamma) CHECK(g == 1.0f);
    for (float b : ln.beta) CHECK(b == 0.0f);
}

TEST_CASE("LayerNorm rejects a wrong width, an empty batch, and a backward before forward") {
    LayerNorm<3, double> ln;
    const Matrix<double> wide = zeros<double>(2, 5), none = zeros<double>(0, 3);
    CHECK_THROWS_WITH_AS(ln.forward(wide, Mode::train), "layerwise: LayerNorm<3>: input has 5 columns, expected 3",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(ln.forward(none, Mode::train), "layerwise: LayerNorm: the batch is empty (0 rows)",
                         std::invalid_argument);
    CHECK_THROWS_AS(ln.backward(zeros<double>(4, 3)), std::logic_error);
    const Matrix<double> x = random_matrix(4, 3, 9);
    ln.forward(x, Mode::train);
    CHECK_THROWS_WITH_AS(ln.backward(zeros<double>(4, 2)),
                         "layerwise: LayerNorm backward: dy has shape (4 x 2), expected (4 x 3)", std::invalid_argument);
    ln.forget_input();
    CHECK_THROWS_AS(ln.backward(zeros<double>(4, 3)), std::logic_error);
}
