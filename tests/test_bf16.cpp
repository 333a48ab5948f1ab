// deploy/bf16.hpp, inference_dense.hpp, to_inference.hpp: rounding to bfloat16 is to nearest, ties to
// even; the few-row kernel computes x W + b with the widened weights; a network's bf16 form
// gives the outputs of the float network with its weights rounded, and refuses training.
#include "testing.hpp"

#include <layerwise/deploy/freeze.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace layerwise;

TEST_CASE("to_bf16 rounds to nearest, ties to even, and keeps infinities and NaN") {
    CHECK(to_bf16(1.0f) == 0x3f80);
    CHECK(to_bf16(-2.0f) == 0xc000);
    CHECK(to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // halfway, 0x3f80 even: down
    CHECK(to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // halfway, 0x3f81 odd: up
    CHECK(to_bf16(std::bit_cast<float>(0x3f808001u)) == 0x3f81);  // above halfway: up
    CHECK(to_bf16(std::bit_cast<float>(0x3f807fffu)) == 0x3f80);  // below halfway: down
    CHECK(to_bf16(std::bit_cast<float>(0x7f7fffffu)) == 0x7f80);  // the largest float rounds to infinity
    CHECK(from_bf16(to_bf16(std::numeric_limits<float>::infinity())) == std::numeric_limits<float>::infinity());
    CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isnan(from_bf16(to_bf16(std::bit_cast<float>(0x7f800001u)))));  // a NaN whose payload is in the low half
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 10.0f);
    for (int k = 0; k < 10000; ++k) {
        const float v = normal(rng);
        CHECK(std::abs(from_bf16(to_bf16(v)) - v) <= std::ldexp(std::abs(v), -8));  // half an ulp: 2^-8 relative
    }
}

namespace {
// The largest |a_k|.
float largest(const Matrix<float>& a) {
    float m = 0;
    for (const float v : a) m = std::max(m, std::abs(v));
    return m;
}

// The largest |a_k - b_k| of two outputs of one shape.
float largest_difference(const Matrix<float>& a, const Matrix<float>& b) {
    REQUIRE(a.shape() == b.shape());
    float m = 0;
    for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, std::abs(a.data()[k] - b.data()[k]));
    return m;
}

template <std::size_t In, std::size_t Out>
void check_kernel(std::size_t rows) {
    const Matrix<float> x = testing::random_matrix<float>(rows, In, 5, -1, 1);
    const Matrix<float> w = testing::random_matrix<float>(In, Out, 6, -1, 1);
    const Matrix<float> bias = testing::random_matrix<float>(1, Out, 7, -1, 1);
    std::vector<std::uint16_t> W(In * Out);
    for (std::size_t i = 0; i < In; ++i)  // in the kernel order
        for (std::size_t j = 0; j < Out; ++j) W[bf16_position<In, Out>(i, j)] = to_bf16(w(i, j));
    Matrix<float> y = zeros<float>(rows, Out);
    bf16_rows_times<In, Out>(x.data(), rows, W.data(), bias.data(), y.data());
    double worst = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < Out; ++j) {
            double sum = bias(0, j), size = std::abs(bias(0, j));
            for (std::size_t i = 0; i < In; ++i) {
                const double wij = from_bf16(to_bf16(w(i, j)));
                sum += double(x(r, i)) * wij;
                size += std::abs(double(x(r, i)) * wij);
            }
            worst = std::max(worst, std::abs(double(y(r, j)) - sum) / size);
        }
    CHECK(worst < 4 * In * std::numeric_limits<float>::epsilon());  // float sums of the widened weights
}
}  // namespace

TEST_CASE("bf16_rows_times is x W + b with W widened, for any row count and leftover columns") {
    for (std::size_t rows : {1u, 2u, 3u, 4u, 5u, 8u, 9u}) {
        CAPTURE(rows);
        check_kernel<128, 128>(rows);
        check_kernel<37, 29>(rows);  // columns left over after the packs
        check_kernel<16, 24>(rows);  // a pack left over after the pairs of packs
        check_kernel<16, 5>(rows);   // narrower than a pack
    }
}

TEST_CASE("to_bf16 of a frozen network gives the float network's outputs with its weights rounded") {
    using Net = seed::SkipMlp<5>;
    Net net;
    init(net, 3);
    auto frozen = freeze(net);
    auto small = to_bf16(frozen);
    auto rounded = frozen;  // the same float network with every Dense's W rounded to bfloat16
    for_each_layer(rounded, [](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.W; })
            for (std::size_t k = 0; k < layer.W.size(); ++k) layer.W.data()[k] = from_bf16(to_bf16(layer.W.data()[k]));
    });
    for (std::size_t rows : {1u, 4u, 7u}) {
        CAPTURE(rows);
        const Matrix<float> x = testing::random_matrix<float>(rows, Net::in_features, 9, 0, 1);
        const Matrix<float> ys = small.forward(x, Mode::inference);
        const Matrix<float> yr = rounded.forward(x, Mode::inference);
        const Matrix<float> yf = frozen.forward(x, Mode::inference);
        const float scale = largest(yr), to_rounded = largest_difference(ys, yr), to_float = largest_difference(ys, yf);
        CHECK(to_rounded <= 1e-5f * scale);  // the same function, summed in another order
        CHECK(to_float > 0);                  // the rounding is there ...
        CHECK(to_float <= 0.05f * scale);     // ... and small
    }
}

TEST_CASE("a bf16 network is for inference only") {
    auto small = to_bf16(freeze(seed::BnMlp<3>{}));
    const Matrix<float> x = testing::random_matrix<float>(2, 784, 1, 0, 1);
    CHECK_THROWS_WITH_AS(small.forward(x, Mode::train),
                         "layerwise: Bf16Dense is for inference: train the float network, then to_bf16 it",
                         std::logic_error);
    static_assert(std::is_same_v<bf16_t<Sequential<Dense<4, 3>, ReLU>>, Sequential<Bf16Dense<4, 3>, ReLU>>);
}

TEST_CASE("Bf16Dense keeps each weight rounded to bfloat16, in the kernel order") {
    Dense<37, 29> d;  // 29 columns: with packs of 8, a pair of packs, a pack on its own and 5 left over
    init(d, 5);
    Bf16Dense<37, 29> h;
    h.assign(d);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < 37; ++i)
        for (std::size_t j = 0; j < 29; ++j) wrong += h.weight(i, j) != from_bf16(to_bf16(d.W(i, j)));
    CHECK(wrong == 0);
    std::vector<int> hits(37 * 29, 0);  // bf16_position is a permutation of W's places
    for (std::size_t i = 0; i < 37; ++i)
        for (std::size_t j = 0; j < 29; ++j) ++hits.at(bf16_position<37, 29>(i, j));
    CHECK(std::count(hits.begin(), hits.end(), 1) == 37 * 29);
}

TEST_CASE("to_panels of a frozen network gives its outputs, with W in the panel order") {
    using Net = seed::SkipMlp<5>;
    Net net;
    init(net, 4);
    auto frozen = freeze(net);
    auto fast = to_panels(frozen);
    static_assert(std::is_same_v<panels_t<Sequential<Dense<4, 3>, ReLU>>, Sequential<PanelDense<4, 3>, ReLU>>);
    for (std::size_t rows : {1u, 4u, 7u, 20u}) {  // 20: the Dense's BLAS, in passes here
        CAPTURE(rows);
        const Matrix<float> x = testing::random_matrix<float>(rows, Net::in_features, 10, 0, 1);
        const Matrix<float> yp = fast.forward(x, Mode::inference);
        const Matrix<float> yf = frozen.forward(x, Mode::inference);
        CHECK(largest_difference(yp, yf) <= 1e-5f * largest(yf));  // the same function, summed in the same order up to 8 rows
    }
    // Widths of whole panels and up to 8 rows: the Dense's own sums, instruction for instruction.
    Sequential<Dense<40, 64>, ReLU, Dense<64, 32>> whole;
    init(whole, 5);
    auto whole_fast = to_panels(whole);
    for (std::size_t rows = 1; rows <= few_rows_max; ++rows) {
        CAPTURE(rows);
        const Matrix<float> x = testing::random_matrix<float>(rows, 40, 11, -1, 1);
        const Matrix<float> yp = whole_fast.forward(x, Mode::inference);
        const Matrix<float> yf = whole.forward(x, Mode::inference);
        CHECK(std::equal(yp.begin(), yp.end(), yf.begin()));
    }
    const Matrix<float> x2 = testing::random_matrix<float>(2, 784, 1, 0, 1);
    CHECK_THROWS_WITH_AS(fast.forward(x2, Mode::train),
                         "layerwise: PanelDense is for inference: train the float network, then to_panels it",
                         std::logic_error);
    PanelDense<37, 29> p;
    Dense<37, 29> d;
    init(d, 6);
    p.assign(d);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < 37; ++i)
        for (std::size_t j = 0; j < 29; ++j) wrong += p.weight(i, j) != d.W(i, j);
    CHECK(wrong == 0);
}
