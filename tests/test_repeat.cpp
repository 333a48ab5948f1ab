#include "testing.hpp"

#include <layerwise/layerwise.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

TEST_CASE("Repeat holds N independent copies of its block") {
    using R = Repeat<3, Dense<4, 4>, BatchNorm<4>, ReLU>;
    static_assert(R::parameter_count == 3 * (20 + 16));
    static_assert(R::in_features == 4 && R::out_features == 4);
    R r;
    init(r, 9);
    CHECK(r.blocks[0].layer<0>().W(0, 0) != r.blocks[1].layer<0>().W(0, 0));
    std::size_t dense = 0;
    for_each_parameter(r, [&](const ParameterInfo& p, auto&, auto&) { dense += p.kind == "kernel"; });
    CHECK(dense == 3);
}

TEST_CASE("Repeat equals the same layers written out in a Sequential") {
    using Block = Sequential<Dense<3, 3, double>, Activation<tanh_fn, double>>;
    Repeat<2, Dense<3, 3, double>, Activation<tanh_fn, double>> repeated;
    Sequential<Block, Block> written;
    init(repeated, 10);
    init(written, 10);  // same walk order, so the same parameters
    const Matrix<double> x = random_matrix(4, 3, 71);
    CHECK(repeated.forward(x, Mode::train) == written.forward(x, Mode::train));
    const Matrix<double> dy = random_matrix(4, 3, 72);
    CHECK(repeated.backward(dy) == written.backward(dy));
}

TEST_CASE("Repeat gradients match finite differences") {
    Repeat<3, Dense<5, 5>, BatchNorm<5>, Sigmoid>::rebind<double> r;
    init(r, 11);
    require_gradients(r, random_matrix(6, 5, 73));
}
