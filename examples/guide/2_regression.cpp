// docs/guide.md, section 2b: regression with MeanSquaredError, targets as a MatrixView of
// your own memory. Compiled and run as the test guide.regression.
#include <layerwise/core.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace layerwise;

int main() {
    // y = sin(3 x0) + x1^2, learnt from 4000 noisy samples
    const std::size_t n = 4000;
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    Matrix<float> x = zeros<float>(n, 2);
    std::vector<float> targets(n);  // your own memory: one target per row
    for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = u(rng);
        x(i, 1) = u(rng);
        targets[i] = std::sin(3 * x(i, 0)) + x(i, 1) * x(i, 1) + noise(rng);
    }
    using Net = Sequential<Dense<2, 64>, Tanh, Dense<64, 64>, Tanh, Dense<64, 1>>;
    Net net;
    init(net, 1);
    Adam<float> optimizer(0.003f);
    FitOptions options;
    options.epochs = 30;
    options.batch_size = 32;
    options.verbosity = Verbosity::quiet;
    const RegressionSamples<float> data{x, rows_of(targets, n)};  // (n x 1) targets, not copied
    const History history = fit(net, optimizer, MeanSquaredError<float>{}, data, data, options);
    const double first = history.epochs.front().loss, last = history.epochs.back().loss;
    std::printf("mean squared error: %.5f after epoch 1, %.5f after epoch %zu\n", first, last, history.epochs.size());

    const std::vector<float> query = {0.5f, -0.5f};
    const Matrix<float> y = outputs(net, rows_of(query, 1));  // a batch of one row
    std::printf("f(0.5, -0.5) = %.3f (true %.3f)\n", y(0, 0), std::sin(1.5f) + 0.25f);
    return last < first / 10 && std::abs(y(0, 0) - (std::sin(1.5f) + 0.25f)) < 0.1f ? 0 : 1;
}
