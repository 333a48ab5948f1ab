#include "testing.hpp"

#include <layerwise/loss/softmax_cross_entropy.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;

TEST_CASE("softmax cross-entropy of known logits") {
    SoftmaxCrossEntropy<double> loss;
    const Matrix<double> z = {{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}};
    const std::vector<int> y = {2, 0};
    const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    const double expected = (-std::log(std::exp(3.0) / s) - std::log(1.0 / 3.0)) / 2;
    CHECK(loss.forward(z, y) == doctest::Approx(expected).epsilon(1e-14));
    CHECK(loss.correct() == 2);  // argmax 2 is right; the tie in row 2 goes to class 0
    CHECK(loss.probabilities()(1, 1) == doctest::Approx(1.0 / 3));
    CHECK(loss.backward()(0, 2) == doctest::Approx((std::exp(3.0) / s - 1) / 2));
}

TEST_CASE("softmax cross-entropy gradient matches finite differences") {
    SoftmaxCrossEntropy<double> loss;
    Matrix<double> z = random_matrix(6, 10, 81, -4, 4);
    const std::vector<int> y = {3, 0, 9, 9, 5, 1};
    loss.forward(z, y);
    const Matrix<double> analytic = loss.backward();
    const double h = 1e-6;
    double diff = 0, norm = 0;
    for (std::size_t k = 0; k < z.size(); ++k) {
        const double saved = z.data()[k];
        z.data()[k] = saved + h;
        const double up = loss.forward(z, y);
        z.data()[k] = saved - h;
        const double down = loss.forward(z, y);
        z.data()[k] = saved;
        const double numeric = (up - down) / (2 * h);
        diff += (numeric - analytic.data()[k]) * (numeric - analytic.data()[k]);
        norm += numeric * numeric;
    }
    CHECK(std::sqrt(diff) / std::sqrt(norm) < 1e-6);
}

TEST_CASE("huge logits are stable, and a clipped sample reports -log(1e-7) and no gradient (Keras)") {
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> z = {{1000.f, 0.f, -1000.f}, {0.f, 1e4f, 0.f}};
    const std::vector<int> y = {0, 0};
    const float value = loss.forward(z, y);
    // Row 1 is certain and right: p = 1 is clipped to 1 - 1e-7. Row 2 is certain and wrong: p = 0 -> 1e-7.
    CHECK(std::isfinite(value));
    CHECK(value == doctest::Approx((-std::log(1.0 - 1e-7) - std::log(1e-7)) / 2).epsilon(1e-3));
    for (float g : loss.backward()) CHECK(g == 0.0f);
}

TEST_CASE("NaN logits give a NaN loss, not a clipped finite one") {
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> z = {{std::numeric_limits<float>::quiet_NaN(), 0.f}};
    CHECK(std::isnan(loss.forward(z, std::vector<int>{1})));
}

TEST_CASE("labels must match the rows and lie in range") {
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> z = zeros<float>(2, 10);
    CHECK_THROWS_WITH_AS(loss.forward(z, std::vector<int>{1}),
                         "layerwise: SoftmaxCrossEntropy: 2 rows of logits but 1 labels", std::invalid_argument);
    CHECK_THROWS_WITH_AS(loss.forward(z, std::vector<int>{1, 10}),
                         "layerwise: SoftmaxCrossEntropy: sample 1 of the batch: label 10 is outside [0, 10)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(loss.forward(z, std::vector<int>{-1, 0}),
                         "layerwise: SoftmaxCrossEntropy: sample 0 of the batch: label -1 is outside [0, 10)",
                         std::invalid_argument);
    const Matrix<float> none = zeros<float>(0, 10);
    CHECK_THROWS_WITH_AS(loss.forward(none, std::vector<int>{}),
                         "layerwise: SoftmaxCrossEntropy: the batch is empty (0 rows)", std::invalid_argument);
}

TEST_CASE("softmax_row: the row's softmax, its maximum, the sum of exponentials and the first arg-max") {
    const double z[4] = {1.0, 3.0, 3.0, -2.0};
    double p[4];
    const SoftmaxRow<double> r = softmax_row(z, p, 4);
    CHECK(r.argmax == 1);  // the first of the two maxima
    CHECK(r.max == 3.0);
    const double s = std::exp(-2.0) + 1 + 1 + std::exp(-5.0);
    CHECK(r.sum == doctest::Approx(s).epsilon(1e-15));
    for (std::size_t k = 0; k < 4; ++k) CHECK(p[k] == doctest::Approx(std::exp(z[k] - 3.0) / s).epsilon(1e-15));
    CHECK(arg_max(z, 4) == 1);
    CHECK(arg_max(z, 1) == 0);
    const float huge[2] = {1e30f, -1e30f};
    float q[2];
    softmax_row(huge, q, 2);
    CHECK(q[0] == 1.0f);
    CHECK(q[1] == 0.0f);
}
