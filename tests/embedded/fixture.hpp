// What the embedded-model test's two programs share: the network type and its inputs.
//   make_model          (links io) writes model.npz and the frozen npz-loaded network's outputs
//   embedded_inference  (the core only) builds the same frozen network from the header that
//                       layerwise-embed wrote from model.npz, and must print the same outputs
#pragma once

#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <charconv>
#include <cmath>
#include <string>

namespace embedded_test {

using Net = layerwise::seed::BnMlp<5>;

/// Fixed inputs of `rows` rows: pixel-like values in [0, 1].
inline layerwise::Matrix<float> inputs(std::size_t rows) {
    layerwise::Matrix<float> x = layerwise::zeros<float>(rows, Net::in_features);
    for (std::size_t k = 0; k < x.size(); ++k) x.data()[k] = float(0.5 + 0.5 * std::sin(0.61 * double(k) + 0.3));
    return x;
}

/// The outputs as text, one hex float per value (exact), a row per line.
inline std::string text(const layerwise::Matrix<float>& y) {
    std::string s;
    char buffer[32];
    for (std::size_t i = 0; i < y.shape(0); ++i) {
        for (std::size_t j = 0; j < y.shape(1); ++j) {
            s += j ? " " : "";
            s.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, y(i, j), std::chars_format::hex).ptr);
        }
        s += "\n";
    }
    return s;
}

}  // namespace embedded_test
