// layerwise/diagnostics/tensor_stats.hpp — summary statistics of a tensor (a gradient, an
// activation), the numbers behind "vanishing" and "exploding".
//
//   l2 = sqrt(sum g^2)       rms = l2 / sqrt(n)        mean, std (population)
//   max_abs = max |g|        zero_fraction = #(g == 0) / n
//   histogram of |g| over fixed log-spaced bins: decades 1e-12 .. 1e2 in half-decade
//   steps, with one bin below (0 < |g| < 1e-12) and one above (|g| >= 1e2); exact zeros
//   are counted apart, as are positive and negative values.
// The bins are the same for every tensor, epoch and run, so histograms compare directly.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace layerwise::diagnostics {

struct TensorStats {
    static constexpr int first_exponent_x2 = -24;  // 1e-12 = 10^(-24/2)
    static constexpr int last_exponent_x2 = 4;     // 1e2
    static constexpr std::size_t inner_bins = last_exponent_x2 - first_exponent_x2;  // 28 half-decades
    static constexpr std::size_t bins = inner_bins + 2;  // + below + above

    std::size_t n = 0;
    double l2 = 0, rms = 0, mean = 0, std = 0, max_abs = 0, zero_fraction = 0;
    std::size_t positive = 0, negative = 0, zeros = 0, nonfinite = 0;
    std::array<std::uint64_t, bins> histogram{};  // [0]: below 1e-12, [1..28]: half-decades, [29]: >= 1e2

    /// Lower edge of bin b (0 for the first).
    static double bin_lower_edge(std::size_t b) {
        return b == 0 ? 0.0 : std::pow(10.0, (first_exponent_x2 + int(b) - 1) / 2.0);
    }
    /// The bin of |g| > 0.
    static std::size_t bin_of(double a) {
        if (a < 1e-12) return 0;
        const int k = static_cast<int>(std::floor(2.0 * std::log10(a))) - first_exponent_x2;
        if (k >= int(inner_bins)) return bins - 1;
        return static_cast<std::size_t>(std::max(k, 0)) + 1;
    }
};

/// Statistics of n values; non-finite values are counted in nonfinite and left out of the rest.
template <class T>
TensorStats tensor_stats(std::span<const T> values) {
    TensorStats s;
    double sum = 0, sum_sq = 0;
    for (const T v : values) {
        const double g = static_cast<double>(v);
        if (!std::isfinite(g)) {
            ++s.nonfinite;
            continue;
        }
        ++s.n;
        sum += g;
        sum_sq += g * g;
        const double a = std::abs(g);
        s.max_abs = std::max(s.max_abs, a);
        if (g == 0) {
            ++s.zeros;
            continue;
        }
        (g > 0 ? s.positive : s.negative) += 1;
        ++s.histogram[TensorStats::bin_of(a)];
    }
    if (s.n == 0) return s;
    const double n = double(s.n);
    s.l2 = std::sqrt(sum_sq);
    s.rms = s.l2 / std::sqrt(n);
    s.mean = sum / n;
    s.std = std::sqrt(std::max(0.0, sum_sq / n - s.mean * s.mean));
    s.zero_fraction = double(s.zeros) / n;
    return s;
}

}  // namespace layerwise::diagnostics
