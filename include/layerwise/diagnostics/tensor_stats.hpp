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

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

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

    /// Lower edge of bin b (0 for the first): 10^((first_exponent_x2 + b - 1) / 2).
    static double bin_lower_edge(std::size_t b) { return edges()[b]; }

    /// The bin of |g| > 0: the b with bin_lower_edge(b) <= a < bin_lower_edge(b + 1).
    static std::size_t bin_of(double a) { return bin_of(a, edges()); }

    /// The same by bisection among the edges: slower, and plainly right (tests compare the two).
    static std::size_t bin_of_by_bisection(double a) {
        const auto& e = edges();
        return static_cast<std::size_t>(std::upper_bound(e.begin() + 1, e.end(), a) - e.begin()) - 1;
    }

    /// bin_of with the edges at hand (tensor_stats calls it once per value). The half-decade
    /// 2 log10(a) = 2 log10(2) log2(a) is estimated from the bits of a: its exponent plus its
    /// mantissa's fraction is log2(a) to within 0.09 below, 0.06 half-decades. Comparisons with
    /// the two edges around the estimate then give the exact bin. No log10 (it cost the study
    /// more than its histograms were worth), no branch that depends on the data (the checks for
    /// below 1e-12 and above 1e2 were branches, mispredicted on activations that are half zeros;
    /// the clamp and the two comparisons give those bins too).
    static std::size_t bin_of(double a, const std::array<double, bins>& e) {
        const auto bits = std::bit_cast<std::uint64_t>(a);
        const double log2a = double(int((bits >> 52) & 0x7ff) - 1023) + double(bits & ((std::uint64_t(1) << 52) - 1)) * 0x1p-52;
        const double half_decades = log2a * 0.60205999132796239 - first_exponent_x2;  // 2 log10(a) + 24, in [0, 28]
        int b = int(half_decades + 64.0) - 64 + 1;  // floor, as the sum is positive
        b = std::clamp(b, 1, int(bins) - 2);
        b -= int(a < e[std::size_t(b)]);
        b += int(a >= e[std::size_t(b) + 1]);
        return static_cast<std::size_t>(b);
    }

    /// The edges, for a loop that calls bin_of(a, edges) (a function-local static's guard once).
    static const std::array<double, bins>& edges_for_loop() { return edges(); }

    /// For floats, a table does the estimate: a float's 8 exponent bits and top 4 mantissa bits
    /// (its bits >> 19) name a range of values whose ends differ by a factor of at most
    /// 1 + 1/16, much less than a half-decade, so the range holds at most one edge. The table
    /// gives the bin of the range's lowest value; one comparison with the next edge finishes.
    struct FloatBins {
        std::array<std::uint8_t, 4096> bin_of_range;  // the bin of the float with bits i << 19
        std::array<double, bins> next_edge;           // next_edge[b] = lower edge of bin b + 1 (inf for the last)
    };
    static const FloatBins& float_bins() {
        static const FloatBins t = [] {
            FloatBins out{};
            for (std::uint32_t i = 0; i < 4096; ++i) {
                const float lowest = std::bit_cast<float>(i << 19);  // i >= 0xff0: inf and NaN, never looked up
                out.bin_of_range[i] = std::uint8_t(i >= 0xff0 ? bins - 1 : bin_of_by_bisection(double(lowest)));
            }
            for (std::size_t b = 0; b < bins; ++b)
                out.next_edge[b] = b + 1 < bins ? edges()[b + 1] : std::numeric_limits<double>::infinity();
            return out;
        }();
        return t;
    }

    /// The bin of a finite float |g| >= 0 (bin 0 for 0), with the table above.
    static std::size_t bin_of(float a, const FloatBins& t) {
        const std::size_t b = t.bin_of_range[std::bit_cast<std::uint32_t>(a) >> 19];
        return b + std::size_t(double(a) >= t.next_edge[b]);
    }
    static std::size_t bin_of(float a) { return bin_of(a, float_bins()); }

private:
    // e[0] = 0, e[b] = 10^((first_exponent_x2 + b - 1) / 2) for b = 1 .. bins - 1: whole
    // decades read from text, so that 1e-3 is the double the literal 1e-3 is.
    static const std::array<double, bins>& edges() {
        static const std::array<double, bins> e = [] {
            std::array<double, bins> out{};
            for (std::size_t b = 1; b < bins; ++b) {
                const int x2 = first_exponent_x2 + int(b) - 1;
                char text[16];
                std::snprintf(text, sizeof text, "1e%d", x2 / 2);
                out[b] = x2 % 2 == 0 ? std::strtod(text, nullptr) : std::pow(10.0, x2 / 2.0);
            }
            return out;
        }();
        return e;
    }
};

/// Statistics of n values; non-finite values are counted in nonfinite and left out of the rest.
template <class T>
TensorStats tensor_stats(std::span<const T> values) {
    TensorStats s;
    const auto& edges = TensorStats::edges_for_loop();
    const auto& float_bins = TensorStats::float_bins();
    double sum = 0, sum_sq = 0, max_abs = 0;
    std::size_t positive = 0, zeros = 0, nonfinite = 0;
    for (const T v : values) {
        const double g = static_cast<double>(v);
        if (!std::isfinite(g)) {
            ++nonfinite;
            continue;
        }
        sum += g;
        sum_sq += g * g;
        const double a = std::abs(g);
        max_abs = std::max(max_abs, a);
        positive += g > 0;  // counts without branches on the data
        zeros += g == 0;
        if constexpr (std::is_same_v<T, float>)
            ++s.histogram[TensorStats::bin_of(std::abs(v), float_bins)];  // (zeros land in bin 0, taken out below)
        else
            ++s.histogram[TensorStats::bin_of(a, edges)];
    }
    s.max_abs = max_abs;
    s.nonfinite = nonfinite;
    s.n = values.size() - s.nonfinite;
    s.zeros = zeros;
    s.positive = positive;
    s.negative = s.n - positive - zeros;
    s.histogram[0] -= zeros;
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
