// docs/guide.md, sections 1-3: define a network, train it with fit on your own arrays, then
// evaluate, predict, save and load. Compiled and run as the test guide.define_and_train.
#include "thirds.hpp"

#include <layerwise/layerwise.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

using namespace layerwise;
using guide::make_data;

// 1. A network is a type: 2 inputs, two hidden layers of 32, 3 classes (logits).
using Net = Sequential<Dense<2, 32>, BatchNorm<32>, ReLU,
                       Dense<32, 32>, BatchNorm<32>, ReLU,
                       Dense<32, 3>>;
static_assert(Net::in_features == 2 && Net::out_features == 3);

int main() {
    Net net;
    init(net, /*seed=*/1);  // Keras' defaults: Glorot-uniform kernels, zero biases
    summary(net, std::cout);

    // 2. Train on your own arrays: rows of x are samples, y their class indices.
    Matrix<float> x_train, x_val;
    std::vector<int> y_train, y_val;
    make_data(2000, 1, x_train, y_train);
    make_data(500, 2, x_val, y_val);
    RMSprop<float> optimizer(0.01f);
    FitOptions options;
    options.epochs = 10;
    options.batch_size = 64;
    options.verbosity = Verbosity::plain;  // one line per epoch (live: a progress bar)
    const History history = fit(net, optimizer, Samples<float>{x_train, y_train}, Samples<float>{x_val, y_val}, options);
    history.write_csv("guide_history.csv");

    // 3. Evaluate, predict, save and load.
    const Evaluation val = evaluate(net, Samples<float>{x_val, y_val});
    std::printf("validation: loss %.4f, accuracy %.4f\n", val.loss, val.accuracy);

    const std::vector<float> points = {0.5f, 0.5f, -0.5f, 0.1f, 0.2f, -0.9f};  // your own memory:
    const std::vector<int> classes = predict(net, rows_of(points, 3));          // 3 rows of 2, read in place
    const Matrix<float> p = probabilities(net, rows_of(points, 3));             // (3 x 3), rows sum to 1
    for (std::size_t i = 0; i < 3; ++i)
        std::printf("point %zu: class %d, p = %.3f %.3f %.3f\n", i, classes[i], p(i, 0), p(i, 1), p(i, 2));

    io::save_npz(net, "guide_model.npz");  // numpy.load opens it
    Net restored;
    io::load_npz(restored, "guide_model.npz");
    const bool same = predict(restored, x_val) == predict(net, x_val);
    std::printf("reloaded network predicts the same: %s\n", same ? "yes" : "NO");
    return same && val.accuracy > 0.9 ? 0 : 1;
}
