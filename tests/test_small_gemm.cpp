// few_rows_times: y = (x W) s + c for 1 to 8 rows, against a sum in long double, for widths
// that fill whole packs, leave a tail, or are smaller than one pack; panel_rows_times, with W
// in the panel order, too, and where W is whole panels, the same bits.
#include "testing.hpp"

#include <layerwise/small_gemm.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;

namespace {

// y, rows x Out, against (x W) s + c summed in long double (s null: a scale of 1), within the
// rounding of In + 2 float operations.
template <std::size_t In, std::size_t Out, class T>
void check_against_exact(const Matrix<T>& x, const Matrix<T>& W, const T* s, const Matrix<T>& c, const std::vector<T>& y,
                         std::size_t rows) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < Out; ++j) {
            long double sum = 0, size = 0;
            for (std::size_t i = 0; i < In; ++i) {
                sum += (long double)x(r, i) * (long double)W(i, j);
                size += std::abs((long double)x(r, i) * (long double)W(i, j));
            }
            const long double scale = s ? (long double)s[j] : 1.0L;
            const long double expected = sum * scale + (long double)c(0, j);
            const long double bound =
                (size * scale + std::abs((long double)c(0, j))) * (long double)(In + 2) * std::numeric_limits<T>::epsilon();
            CHECK(std::abs((long double)y[r * Out + j] - expected) <= bound);
        }
}

template <std::size_t In, std::size_t Out, class T>
void check_shape(bool scaled) {
    const Matrix<T> x = random_matrix<T>(few_rows_max, In, In * 31 + Out);
    const Matrix<T> W = random_matrix<T>(In, Out, In * 17 + Out);
    const Matrix<T> s = random_matrix<T>(1, Out, 3, 0.5, 2), c = random_matrix<T>(1, Out, 4);
    for (std::size_t rows = 1; rows <= few_rows_max; ++rows) {
        CAPTURE(rows);
        std::vector<T> y(rows * Out, T(-99));
        few_rows_times<In, Out>(x.data(), rows, W.data(), scaled ? s.data() : nullptr, c.data(), y.data());
        check_against_exact<In, Out>(x, W, scaled ? s.data() : nullptr, c, y, rows);
        std::vector<T> again(rows * Out);
        few_rows_times<In, Out>(x.data(), rows, W.data(), scaled ? s.data() : nullptr, c.data(), again.data());
        CHECK(again == y);  // the same call, the same bits
    }
}

template <std::size_t In, std::size_t Out, class T>
void check_panel_order() {
    const Matrix<T> x = random_matrix<T>(13, In, In * 7 + Out);
    const Matrix<T> W = random_matrix<T>(In, Out, In * 5 + Out);
    const Matrix<T> c = random_matrix<T>(1, Out, 8);
    std::vector<T> panels(In * Out, T(0));
    std::vector<int> hits(In * Out, 0);
    for (std::size_t i = 0; i < In; ++i)
        for (std::size_t j = 0; j < Out; ++j) {
            panels.at(panel_position<In, Out, T>(i, j)) = W(i, j);
            ++hits.at(panel_position<In, Out, T>(i, j));
        }
    CHECK(std::count(hits.begin(), hits.end(), 1) == long(In * Out));  // a permutation of W's places
    for (std::size_t rows : {1u, 2u, 3u, 6u, 8u, 13u}) {  // 13: passes of a few rows
        CAPTURE(rows);
        std::vector<T> y(rows * Out, T(-99));
        panel_rows_times<In, Out>(x.data(), rows, panels.data(), c.data(), y.data());
        check_against_exact<In, Out, T>(x, W, nullptr, c, y, rows);
        if (rows <= few_rows_max && Out % (panel_packs * (sizeof(Pack<T>) / sizeof(T))) == 0) {
            // whole panels: the row-major kernel's sums, in its order, in the same instructions
            std::vector<T> plain(rows * Out);
            few_rows_times<In, Out>(x.data(), rows, W.data(), nullptr, c.data(), plain.data());
            CHECK(y == plain);
        }
    }
}

}  // namespace

TEST_CASE_TEMPLATE("panel_rows_times gives few_rows_times' bits with W in the panel order", T, float, double) {
    check_panel_order<784, 128, T>();
    check_panel_order<128, 10, T>();
    check_panel_order<16, 24, T>();  // whole panels and a pack after them
    check_panel_order<7, 3, T>();
    check_panel_order<5, 37, T>();
}

TEST_CASE_TEMPLATE("few_rows_times computes (x W) s + c for 1 to 8 rows", T, float, double) {
    for (bool scaled : {false, true}) {
        CAPTURE(scaled);
        check_shape<784, 128, T>(scaled);  // the seed's first layer: whole blocks of packs
        check_shape<128, 10, T>(scaled);   // its last: one pack and a tail
        check_shape<7, 3, T>(scaled);      // narrower than a pack
        check_shape<5, 37, T>(scaled);     // blocks, a partial block and a tail
    }
}

TEST_CASE("few_rows_times refuses 0 rows and more than 8") {
    const std::vector<float> x(9 * 2, 1.0f), W(2 * 3, 1.0f), c(3, 0.0f);
    std::vector<float> y(9 * 3);
    CHECK_THROWS_WITH_AS((few_rows_times<2, 3>(x.data(), 9, W.data(), nullptr, c.data(), y.data())),
                         "layerwise: few_rows_times: takes 1 to 8 rows", std::logic_error);
    CHECK_THROWS_AS((few_rows_times<2, 3>(x.data(), 0, W.data(), nullptr, c.data(), y.data())), std::logic_error);
}
