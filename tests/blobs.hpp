// Three Gaussian blobs in 6 dimensions, for the tests that train with fit: easy to learn, so a
// working loop must learn them.
#pragma once

#include <layerwise/init.hpp>
#include <layerwise/train/fit.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace layerwise::testing {

struct Blobs {
    Matrix<float> x;
    std::vector<int> y;
    explicit Blobs(std::size_t n, std::uint64_t seed) : x(zeros<float>(n, 6)), y(n) {
        std::mt19937_64 rng(seed);
        for (std::size_t i = 0; i < n; ++i) {
            y[i] = static_cast<int>(i % 3);
            for (std::size_t j = 0; j < 6; ++j)
                x(i, j) = static_cast<float>((j % 3 == std::size_t(y[i]) ? 2.0 : 0.0) + uniform01(rng) - 0.5);
        }
    }
    Samples<float> samples() const { return {x, y}; }
};

}  // namespace layerwise::testing
