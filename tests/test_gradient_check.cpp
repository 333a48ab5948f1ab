#include "testing.hpp"

#include <layerwise/layerwise.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;

namespace {
// Dense with a deliberate mistake in backward: db is twice what it should be.
struct WrongBias : Dense<3, 2, double> {
    template <class U>
    using rebind = WrongBias;
    const Matrix<double>& backward(const Matrix<double>& dy) {
        const auto& dx = Dense<3, 2, double>::backward(dy);
        for (auto& g : db) g *= 2;
        return dx;
    }
};
}  // namespace

TEST_CASE("the gradient check finds a wrong parameter gradient and names it") {
    WrongBias layer;
    init(layer, 1);
    const Matrix<double> x = random_matrix(4, 3, 2);
    const GradientCheck check = check_gradients(layer, x);
    CHECK(check.worst() > 0.1);
    CHECK(check.worst_tensor().name == "dense/bias");
}

TEST_CASE("the gradient check passes a correct layer and counts what it compared") {
    Dense<3, 2, double> layer;
    init(layer, 1);
    const Matrix<double> x = random_matrix(4, 3, 2);
    const GradientCheck check = check_gradients(layer, x);
    CHECK(check.worst() < 1e-6);
    REQUIRE(check.tensors.size() == 3);
    CHECK(check.tensors[0].name == "input");
    CHECK(check.tensors[0].checked == 12);
    CHECK(check.tensors[1].checked == 6);
}

TEST_CASE("the gradient check samples large tensors") {
    Dense<40, 30, double> layer;
    init(layer, 1);
    const Matrix<double> x = random_matrix(2, 40, 3);
    const GradientCheck check = check_gradients(layer, x, Mode::train, 1e-6, 7, 50);
    CHECK(check.tensors[1].checked == 50);
    CHECK(check.worst() < 1e-6);
}
