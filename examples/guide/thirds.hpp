// examples/guide/thirds.hpp — what the guide's programs share: their data set (three classes of
// points in the plane), quiet training options, and how they state a check.
#pragma once

#include <layerwise/tensor.hpp>
#include <layerwise/train/fit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace guide {

/// n points uniform in [-1, 1]^2 (x: n x 2) and their classes (y): which third of the circle
/// a point's angle falls in. The same seed gives the same points.
inline void make_data(std::size_t n, std::uint64_t seed, layerwise::Matrix<float>& x, std::vector<int>& y) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    x = layerwise::zeros<float>(n, 2);
    y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = u(rng);
        x(i, 1) = u(rng);
        const double angle = std::atan2(x(i, 1), x(i, 0)) + M_PI;  // [0, 2 pi]
        y[i] = std::min(2, static_cast<int>(angle / (2 * M_PI / 3)));
    }
}

/// The programs' data: 2000 training points from seed 1 and 500 validation points from seed 2.
struct Thirds {
    layerwise::Matrix<float> x_train, x_val;  ///< (2000 x 2), (500 x 2)
    std::vector<int> y_train, y_val;          ///< their classes
    Thirds() {
        make_data(2000, 1, x_train, y_train);
        make_data(500, 2, x_val, y_val);
    }
    Thirds(const Thirds&) = delete;  // train() and val() view the members
    Thirds& operator=(const Thirds&) = delete;
    /// The training set, viewing x_train and y_train.
    layerwise::Samples<float> train() const { return {x_train, y_train}; }
    /// The validation set, viewing x_val and y_val.
    layerwise::Samples<float> val() const { return {x_val, y_val}; }
};

/// fit's options for `epochs` epochs of mini-batches of 64, printing nothing.
inline layerwise::FitOptions quiet(std::size_t epochs) {
    layerwise::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 64;
    options.verbosity = layerwise::Verbosity::quiet;
    return options;
}

/// Prints "what: yes" or "what: NO"; on NO, throws std::runtime_error naming the check, which
/// fails the program's test.
inline void require(bool ok, const std::string& what) {
    std::printf("%s: %s\n", what.c_str(), ok ? "yes" : "NO");
    std::fflush(stdout);
    if (!ok) throw std::runtime_error("guide: " + what + " failed");
}

/// Whether a and b have the same shape and the same bits.
inline bool same_bits(const layerwise::Matrix<float>& a, const layerwise::Matrix<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace guide
