#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/loss/mean_squared_error.hpp>

#include <cmath>
#include <limits>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

namespace {
// The loss as a layer (y -> the 1 x 1 loss; dx = dL * dy) so that gradient_check's finite
// differences test it, alone and behind a Dense.
struct MseHead {
    using scalar_type = double;
    template <class U>
    using rebind = MseHead;
    static constexpr std::size_t in_features = any_width, out_features = 1, parameter_count = 0;
    static constexpr std::string_view name = "mse";

    Matrix<double> targets;  // t: (B x C)

    const Matrix<double>& forward(const Matrix<double>& y, Mode) {
        loss_(0, 0) = mse_.forward(y, targets);
        return loss_;
    }
    const Matrix<double>& backward(const Matrix<double>& dl) {
        dx_ = dl(0, 0) * mse_.backward();
        return dx_;
    }
    template <class F>
    void visit_parameters(F&&) {}

private:
    MeanSquaredError<double> mse_;
    Matrix<double> loss_ = zeros<double>(1, 1);  // (1 x 1)
    Matrix<double> dx_;                          // (B x C)
};
}  // namespace

TEST_CASE("mean squared error of known outputs: the mean over outputs, then over the batch") {
    MeanSquaredError<double> loss;
    const Matrix<double> y = {{1, 2}, {3, 4}};
    const Matrix<double> t = {{0, 2}, {1, 1}};
    // differences (1, 0) and (2, 3): sample means 1/2 and 13/2, batch mean 7/2
    CHECK(loss.forward(y, t) == 3.5);
    // dy = 2 (y - t) / (B C) = (y - t) / 2
    CHECK(loss.backward() == Matrix<double>{{0.5, 0}, {1, 1.5}});
}

TEST_CASE("mean squared error with three outputs, against the formula term by term") {
    MeanSquaredError<double> loss;
    const Matrix<double> y = random_matrix(4, 3, 11), t = random_matrix(4, 3, 12);
    double expected = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        double row = 0;
        for (std::size_t k = 0; k < 3; ++k) row += (y(i, k) - t(i, k)) * (y(i, k) - t(i, k));
        expected += row / 3;
    }
    expected /= 4;
    CHECK(loss.forward(y, t) == doctest::Approx(expected).epsilon(1e-14));
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t k = 0; k < 3; ++k)
            CHECK(loss.backward()(i, k) == doctest::Approx(2 * (y(i, k) - t(i, k)) / 12).epsilon(1e-14));
}

TEST_CASE("mean squared error's gradient matches finite differences, alone and behind a Dense") {
    MseHead head;
    head.targets = random_matrix(5, 3, 21);
    require_gradients(head, random_matrix(5, 3, 22));
    Sequential<Dense<4, 3, double>, MseHead> net;
    init(net, 2);
    net.layer<1>().targets = random_matrix(6, 3, 23);
    require_gradients(net, random_matrix(6, 4, 24));
}

TEST_CASE("targets of another shape, and an empty batch, are clear exceptions") {
    MeanSquaredError<float> loss;
    const Matrix<float> y = zeros<float>(4, 2), t = zeros<float>(4, 3), none = zeros<float>(0, 2);
    CHECK_THROWS_WITH_AS(loss.forward(y, t),
                         "layerwise: MeanSquaredError: outputs have shape (4 x 2) but targets (4 x 3)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(loss.forward(none, none), "layerwise: MeanSquaredError: the batch is empty (0 rows)",
                         std::invalid_argument);
}

TEST_CASE("a NaN output gives a NaN loss and a NaN gradient") {
    MeanSquaredError<float> loss;
    const Matrix<float> y = {{std::numeric_limits<float>::quiet_NaN(), 0.f}}, t = {{0.f, 0.f}};
    CHECK(std::isnan(loss.forward(y, t)));
    CHECK(std::isnan(loss.backward()(0, 0)));
    CHECK(loss.backward()(0, 1) == 0.0f);
}

TEST_CASE("the loss satisfies what fit needs, and is not one that counts correct classifications") {
    static_assert(LossFunction<MeanSquaredError<float>, float>);
    static_assert(LossFunction<SoftmaxCrossEntropy<float>, float>);
    static_assert(!CountsCorrect<MeanSquaredError<float>> && CountsCorrect<SoftmaxCrossEntropy<float>>);
    static_assert(std::is_same_v<MeanSquaredError<float>::target_type, MatrixView<float>>);
    CHECK(true);
}
