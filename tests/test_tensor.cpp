#include "testing.hpp"

#include <layerwise/tensor.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;

TEST_CASE("ensure_shape reallocates only when the shape changes") {
    Matrix<float> m = zeros<float>(8, 4);
    const float* before = m.data();
    ensure_shape(m, 8, 4);
    CHECK(m.data() == before);
    ensure_shape(m, 16, 4);
    CHECK(m.shape(0) == 16);
    CHECK(m.shape(1) == 4);
    CHECK(m.size() == 64);
}
