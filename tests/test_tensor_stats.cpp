#include <doctest/doctest.h>
#include <layerwise/diagnostics/tensor_stats.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using namespace layerwise::diagnostics;

TEST_CASE("known values give known statistics") {
    const std::vector<double> g = {3.0, -4.0, 0.0, 0.0};
    const TensorStats s = tensor_stats<double>(g);
    CHECK(s.n == 4);
    CHECK(s.l2 == doctest::Approx(5.0));
    CHECK(s.rms == doctest::Approx(2.5));
    CHECK(s.mean == doctest::Approx(-0.25));
    CHECK(s.std == doctest::Approx(std::sqrt(25.0 / 4 - 0.0625)));
    CHECK(s.max_abs == 4.0);
    CHECK(s.zero_fraction == 0.5);
    CHECK(s.positive == 1);
    CHECK(s.negative == 1);
    CHECK(s.zeros == 2);
}

TEST_CASE("the histogram puts |g| into fixed half-decade bins") {
    CHECK(TensorStats::bins == 30);
    CHECK(TensorStats::bin_of(1e-13) == 0);
    CHECK(TensorStats::bin_of(1e-12) == 1);
    CHECK(TensorStats::bin_of(2e-12) == 1);
    CHECK(TensorStats::bin_of(4e-12) == 2);  // sqrt(10) * 1e-12 = 3.16e-12 starts bin 2
    CHECK(TensorStats::bin_of(1.0) == 25);
    CHECK(TensorStats::bin_of(99.0) == 28);
    CHECK(TensorStats::bin_of(100.0) == 29);
    CHECK(TensorStats::bin_lower_edge(25) == doctest::Approx(1.0));
    const std::vector<float> g = {1e-3f, -2e-3f, 0.5f, 1e-20f, 1e5f, 0.0f};
    const TensorStats s = tensor_stats<float>(g);
    CHECK(s.histogram[TensorStats::bin_of(1e-3)] == 2);  // 1e-3 and 2e-3 share a half-decade
    CHECK(s.histogram[0] == 1);
    CHECK(s.histogram[29] == 1);
    const auto total = std::accumulate(s.histogram.begin(), s.histogram.end(), std::uint64_t{0});
    CHECK(total + s.zeros == s.n);
}

TEST_CASE("non-finite values are counted, not mixed into the numbers") {
    const std::vector<float> g = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
    const TensorStats s = tensor_stats<float>(g);
    CHECK(s.nonfinite == 2);
    CHECK(s.n == 1);
    CHECK(s.l2 == 1.0);
}

TEST_CASE("bin_of from the bits of a double agrees with bisection among the edges, at the edges too") {
    std::mt19937_64 rng(5);
    for (int k = 0; k < 200000; ++k) {  // log-uniform over 1e-15 .. 1e4
        const double a = std::pow(10.0, -15.0 + 19.0 * double(rng() >> 11) * 0x1p-53);
        REQUIRE(TensorStats::bin_of(a) == TensorStats::bin_of_by_bisection(a));
    }
    for (std::size_t b = 1; b < TensorStats::bins; ++b) {
        const double e = TensorStats::bin_lower_edge(b);
        for (double a : {e, std::nextafter(e, 0.0), std::nextafter(e, 1e300)}) {
            CAPTURE(a);
            CHECK(TensorStats::bin_of(a) == TensorStats::bin_of_by_bisection(a));
        }
        CHECK(TensorStats::bin_of(e) == b);
        CHECK(TensorStats::bin_of(std::nextafter(e, 0.0)) == b - 1);
    }
    for (double a : {std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(), 1e-300,
                     std::numeric_limits<double>::max()})
        CHECK(TensorStats::bin_of(a) == TensorStats::bin_of_by_bisection(a));
}

TEST_CASE("bin_of(0) is bin 0, in double and in float") {
    CHECK(TensorStats::bin_of(0.0) == 0);
    CHECK(TensorStats::bin_of(0.0f) == 0);
}

TEST_CASE("bin_of a float from its table agrees with bisection: every 4099th float, every range's ends, every edge's neighbours") {
    const auto agrees = [](float a) { return TensorStats::bin_of(a) == TensorStats::bin_of_by_bisection(double(a)); };
    const std::uint32_t largest = std::bit_cast<std::uint32_t>(std::numeric_limits<float>::max());
    std::size_t wrong = 0, checked = 0;
    for (std::uint64_t bits = 0; bits <= largest; bits += 4099, ++checked) wrong += !agrees(std::bit_cast<float>(std::uint32_t(bits)));
    for (std::uint32_t range = 0; range < 0xff0; ++range) {  // the table's ranges: first and last float of each
        const std::uint32_t first = range << 19, last = first + (std::uint32_t(1) << 19) - 1;
        wrong += !agrees(std::bit_cast<float>(first)) + !agrees(std::bit_cast<float>(last));
        checked += 2;
    }
    CHECK(checked > 500000);
    CHECK(wrong == 0);
    for (std::size_t b = 1; b < TensorStats::bins; ++b) {
        const float e = float(TensorStats::bin_lower_edge(b));  // the float nearest the edge, and its neighbours
        for (float a : {e, std::nextafter(e, 0.0f), std::nextafter(e, 1e30f)}) {
            CAPTURE(a);
            CHECK(agrees(a));
        }
    }
    CHECK(agrees(std::numeric_limits<float>::denorm_min()));
    CHECK(agrees(std::numeric_limits<float>::min()));
}

TEST_CASE("tensor_stats of floats and of the same values as doubles agree to the count") {
    std::mt19937_64 rng(9);
    std::vector<float> f(100003);
    for (auto& v : f) {
        const double a = std::pow(10.0, -14.0 + 17.0 * double(rng() >> 11) * 0x1p-53);
        v = rng() % 3 == 0 ? 0.0f : float(rng() % 2 ? a : -a);
    }
    const std::vector<double> d(f.begin(), f.end());
    const TensorStats sf = tensor_stats<float>(f), sd = tensor_stats<double>(d);
    CHECK(sf.histogram == sd.histogram);
    CHECK(sf.zeros == sd.zeros);
    CHECK(sf.positive == sd.positive);
    CHECK(sf.l2 == sd.l2);
    CHECK(sf.max_abs == sd.max_abs);
}
