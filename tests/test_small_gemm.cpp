// few_rows_times: y = (x W) s + c for 1 to 8 rows, against a sum in long double, for widths
// that fill whole packs, leave a tail, or are smaller than one pack.
#include "testing.hpp"

#include <layerwise/small_gemm.hpp>

#include <cmath>
#include <vector>

using namespace layerwise;
using layerwise::testing::random_matrix;

namespace {

template <std::size_t In, std::size_t Out, class T>
void check_shape(bool scaled) {
    const Matrix<T> x = random_matrix<T>(few_rows_max, In, In * 31 + Out);
    const Matrix<T> W = random_matrix<T>(In, Out, In * 17 + Out);
    const Matrix<T> s = random_matrix<T>(1, Out, 3, 0.5, 2), c = random_matrix<T>(1, Out, 4);
    for (std::size_t rows = 1; rows <= few_rows_max; ++rows) {
        CAPTURE(rows);
        std::vector<T> y(rows * Out, T(-99));
        few_rows_times<In, Out>(x.data(), rows, W.data(), scaled ? s.data() : nullptr, c.data(), y.data());
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < Out; ++j) {
                long double sum = 0, size = 0;
                for (std::size_t i = 0; i < In; ++i) {
                    sum += (long double)x(r, i) * (long double)W(i, j);
                    size += std::abs((long double)x(r, i) * (long double)W(i, j));
                }
                const long double expected = (scaled ? sum * (long double)s(0, j) : sum) + (long double)c(0, j);
                const long double bound = (size * (scaled ? s(0, j) : 1) + std::abs((long double)c(0, j))) *
                                          (long double)(In + 2) * std::numeric_limits<T>::epsilon();
                CHECK(std::abs((long double)y[r * Out + j] - expected) <= bound);
            }
        std::vector<T> again(rows * Out);
        few_rows_times<In, Out>(x.data(), rows, W.data(), scaled ? s.data() : nullptr, c.data(), again.data());
        CHECK(again == y);  // the same call, the same bits
    }
}

}  // namespace

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
