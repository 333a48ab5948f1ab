#include "testing.hpp"

#include <layerwise/optim/elementwise.hpp>

#include <cmath>
#include <vector>

using namespace layerwise;

TEST_CASE_TEMPLATE("for_each_pack visits every element once, packs then a scalar tail", T, float, double) {
    constexpr std::size_t width = sizeof(Pack<T>) / sizeof(T);
#if defined(__SSE2__)
    CHECK(width > 1);  // on x86 the update runs on vector registers
#endif
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, width - 1, width, width + 1, 3 * width + 5, std::size_t{1000}}) {
        std::vector<int> seen(n, 0);
        std::size_t packs = 0;
        for_each_pack<T>(n, [&](std::size_t k, auto lanes) {
            const bool pack = !std::is_same_v<decltype(lanes), Lanes<T>>;
            packs += pack;
            for (std::size_t j = 0; j < (pack ? width : 1); ++j) ++seen.at(k + j);
        });
        CHECK(packs == n / width * (width > 1));
        for (int s : seen) CHECK(s == 1);
    }
}

TEST_CASE_TEMPLATE("a pack computes what the scalar loop computes, bit for bit, square root included", T, float, double) {
    const std::size_t n = 1000;  // not a multiple of any width: the tail runs too
    std::vector<T> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(std::ldexp(double(i % 97) + 0.37, int(i % 41) - 20));
    const T a = T(0.9), b = T(1e-7);
    for_each_pack<T>(n, [&](std::size_t k, auto lanes) {
        using L = decltype(lanes);
        const auto xk = L::load(x.data() + k);
        L::store(y.data() + k, T(1) / (lane_sqrt(a * xk * xk + b) + b));
    });
    for (std::size_t i = 0; i < n; ++i) {
        const T expected = T(1) / (std::sqrt(a * x[i] * x[i] + b) + b);
        CHECK(y[i] == expected);
    }
}
