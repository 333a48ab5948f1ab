// deploy/bf16_dot.hpp and to_bf16_dot: x and W rounded to bfloat16 as AVX512-BF16 reads them;
// the portable kernel is the formula, bit for bit; the avx512bf16 kernel gives the portable
// kernel's bits where the CPU has it, and is refused where it has not; a network's bf16-dot
// form gives the float network's outputs within bfloat16's rounding, and refuses training.
#include "testing.hpp"

#include <layerwise/deploy/freeze.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace layerwise;

TEST_CASE("to_bf16_flushed is to_bf16 with subnormals flushed to a zero of their sign") {
    CHECK(to_bf16_flushed(1.0f) == 0x3f80);
    CHECK(to_bf16_flushed(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // halfway, even: down
    CHECK(to_bf16_flushed(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // halfway, odd: up
    CHECK(to_bf16_flushed(std::numeric_limits<float>::denorm_min()) == 0x0000);
    CHECK(to_bf16_flushed(-std::numeric_limits<float>::denorm_min()) == 0x8000);
    CHECK(to_bf16_flushed(std::bit_cast<float>(0x007fffffu)) == 0x0080);  // rounds up to the smallest normal: kept
    CHECK(to_bf16_flushed(std::bit_cast<float>(0x007f7fffu)) == 0x0000);  // rounds to a subnormal: flushed
    CHECK(std::isnan(from_bf16(to_bf16_flushed(std::bit_cast<float>(0x7f800001u)))));  // a NaN stays one
    CHECK(from_bf16(to_bf16_flushed(-std::numeric_limits<float>::infinity())) == -std::numeric_limits<float>::infinity());
    std::mt19937 rng(2);
    std::uniform_int_distribution<std::uint32_t> bits;
    std::size_t wrong = 0;
    for (int k = 0; k < 200000; ++k) {  // every kind of float: the branch-free form is to_bf16's
        const std::uint32_t u = bits(rng);
        const std::uint16_t h = to_bf16(std::bit_cast<float>(u));
        const std::uint16_t expected = (h & 0x7f80u) == 0 ? std::uint16_t(h & 0x8000u) : h;
        wrong += to_bf16_flushed(std::bit_cast<float>(u)) != expected;
    }
    CHECK(wrong == 0);
}

namespace {
// W (In x Out) in the bf16-dot order.
template <std::size_t In, std::size_t Out>
std::vector<std::uint16_t> bf16_dot_weights(const Matrix<float>& w) {
    std::vector<std::uint16_t> W(bf16_dot_size<In, Out>, 0);
    for (std::size_t i = 0; i < In; ++i)
        for (std::size_t j = 0; j < Out; ++j) W[bf16_dot_position<In, Out>(i, j)] = to_bf16_flushed(w(i, j));
    return W;
}

// The top of bf16_dot.hpp, one float operation at a time: the sums in the order
// i = 1, 0, 3, 2, ..., each product of two bfloat16s exact.
float formula(const Matrix<float>& x, const Matrix<float>& w, const Matrix<float>& bias, std::size_t r, std::size_t j) {
    const std::size_t in = w.shape(0);
    auto rounded = [](float v) { return from_bf16(to_bf16_flushed(v)); };
    float sum = 0;
    for (std::size_t q = 0; 2 * q < in; ++q) {
        if (2 * q + 1 < in) sum = sum + rounded(x(r, 2 * q + 1)) * rounded(w(2 * q + 1, j));
        else sum = sum + 0.0f;  // the padding's zero product, which the kernels add too
        sum = sum + rounded(x(r, 2 * q)) * rounded(w(2 * q, j));
    }
    return sum + bias(0, j);
}

template <std::size_t In, std::size_t Out>
void check_kernels(std::size_t rows) {
    const Matrix<float> x = testing::random_matrix<float>(rows, In, 5, -2, 2);
    const Matrix<float> w = testing::random_matrix<float>(In, Out, 6, -1, 1);
    const Matrix<float> bias = testing::random_matrix<float>(1, Out, 7, -1, 1);
    const std::vector<std::uint16_t> W = bf16_dot_weights<In, Out>(w);
    std::vector<std::uint32_t> scratch(bf16_dot_scratch<In>);
    Matrix<float> portable = zeros<float>(rows, Out);
    bf16_dot_rows_times<In, Out>(x.data(), rows, W.data(), bias.data(), portable.data(), scratch.data(),
                                 Bf16DotKernel::portable);
    std::size_t wrong = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < Out; ++j)
            wrong += std::bit_cast<std::uint32_t>(portable(r, j)) != std::bit_cast<std::uint32_t>(formula(x, w, bias, r, j));
    CHECK(wrong == 0);
    Matrix<float> fast = zeros<float>(rows, Out);
    if (cpu_has_avx512bf16()) {
        bf16_dot_rows_times<In, Out>(x.data(), rows, W.data(), bias.data(), fast.data(), scratch.data(),
                                     Bf16DotKernel::avx512bf16);
        std::size_t differ = 0;
        for (std::size_t k = 0; k < fast.size(); ++k)
            differ += std::bit_cast<std::uint32_t>(fast.data()[k]) != std::bit_cast<std::uint32_t>(portable.data()[k]);
        CHECK(differ == 0);
    } else {
        auto forced = [&] {
            bf16_dot_rows_times<In, Out>(x.data(), rows, W.data(), bias.data(), fast.data(), scratch.data(),
                                         Bf16DotKernel::avx512bf16);
        };
        CHECK_THROWS_WITH_AS(forced(), "layerwise: bf16_dot_rows_times: this CPU has no AVX512-BF16; use the portable kernel",
                             std::invalid_argument);
    }
}
}  // namespace

TEST_CASE("bf16_dot_rows_times: the portable kernel is the formula, the avx512bf16 kernel its bits") {
    MESSAGE("this CPU ", std::string(cpu_has_avx512bf16() ? "has" : "has no"), " AVX512-BF16: bf16_dot_kernel() = ",
            std::string(name_of(bf16_dot_kernel())));
    for (std::size_t rows : {1u, 2u, 3u, 4u, 5u, 8u, 9u, 17u}) {
        CAPTURE(rows);
        check_kernels<128, 128>(rows);
        check_kernels<37, 29>(rows);  // odd In: a half-padded last pair; 29 columns: a padded last panel
        check_kernels<784, 24>(rows);
        check_kernels<1, 5>(rows);    // one row of W, narrower than a panel
    }
}

TEST_CASE("LAYERWISE_BF16_DOT takes portable or nothing, and names any other value") {
    CHECK(detail::bf16_dot_kernel_for(nullptr, true) == Bf16DotKernel::avx512bf16);
    CHECK(detail::bf16_dot_kernel_for("", true) == Bf16DotKernel::avx512bf16);
    CHECK(detail::bf16_dot_kernel_for(nullptr, false) == Bf16DotKernel::portable);
    CHECK(detail::bf16_dot_kernel_for("portable", true) == Bf16DotKernel::portable);
    CHECK_THROWS_WITH_AS(detail::bf16_dot_kernel_for("protable", true),
                         "layerwise: LAYERWISE_BF16_DOT=protable: the one value it takes is portable (unset: AVX512-BF16 "
                         "where the CPU has it)",
                         std::invalid_argument);
    CHECK_THROWS_AS(detail::bf16_dot_kernel_for("avx512bf16", false), std::invalid_argument);
}

TEST_CASE("the bf16-dot order puts every weight in its own place, with zero padding") {
    std::vector<int> hits(bf16_dot_size<37, 29>, 0);
    for (std::size_t i = 0; i < 37; ++i)
        for (std::size_t j = 0; j < 29; ++j) ++hits.at(bf16_dot_position<37, 29>(i, j));
    CHECK(std::count(hits.begin(), hits.end(), 1) == 37 * 29);
    CHECK(std::count(hits.begin(), hits.end(), 0) == std::ptrdiff_t(bf16_dot_size<37, 29> - 37 * 29));
    Dense<37, 29> d;
    init(d, 5);
    Bf16DotDense<37, 29> h;
    h.assign(d);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < 37; ++i)
        for (std::size_t j = 0; j < 29; ++j) wrong += h.weight(i, j) != from_bf16(to_bf16_flushed(d.W(i, j)));
    CHECK(wrong == 0);
    std::size_t padding = 0;
    for (std::size_t k = 0; k < h.W.size(); ++k) padding += hits[k] == 0 && h.W[k] != 0;
    CHECK(padding == 0);
}

TEST_CASE("to_bf16_dot of a frozen network gives the float network's outputs within bfloat16's rounding") {
    using Net = seed::SkipMlp<5>;
    Net net;
    init(net, 3);
    auto frozen = freeze(net);
    auto dot = to_bf16_dot(frozen);
    auto small = to_bf16(frozen);
    static_assert(std::is_same_v<bf16_dot_t<Sequential<Dense<4, 3>, ReLU>>, Sequential<Bf16DotDense<4, 3>, ReLU>>);
    for (std::size_t rows : {1u, 4u, 7u, 20u}) {
        CAPTURE(rows);
        const Matrix<float> x = testing::random_matrix<float>(rows, Net::in_features, 9, 0, 1);
        const Matrix<float> yd = dot.forward(x, Mode::inference);
        const Matrix<float> yb = small.forward(x, Mode::inference);
        const Matrix<float> yf = frozen.forward(x, Mode::inference);
        float scale = 0, to_float = 0, to_bf16_weights = 0;
        for (std::size_t k = 0; k < yf.size(); ++k) {
            scale = std::max(scale, std::abs(yf.data()[k]));
            to_float = std::max(to_float, std::abs(yd.data()[k] - yf.data()[k]));
            to_bf16_weights = std::max(to_bf16_weights, std::abs(yd.data()[k] - yb.data()[k]));
        }
        CHECK(to_bf16_weights > 0);           // the inputs' rounding is there ...
        CHECK(to_float <= 0.05f * scale);     // ... and, with the weights', small
        CHECK(to_bf16_weights <= 0.05f * scale);
    }
}

TEST_CASE("a bf16-dot network is for inference only") {
    auto dot = to_bf16_dot(freeze(seed::BnMlp<3>{}));
    const Matrix<float> x = testing::random_matrix<float>(2, 784, 1, 0, 1);
    CHECK_THROWS_WITH_AS(dot.forward(x, Mode::train),
                         "layerwise: Bf16DotDense is for inference: train the float network, then to_bf16_dot it",
                         std::logic_error);
}
