#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

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

TEST_CASE("a GradientCheck prints one line per tensor and marks the worst") {
    WrongBias layer;
    init(layer, 1);
    const Matrix<double> x = random_matrix(4, 3, 2);
    std::ostringstream out;
    out << check_gradients(layer, x);
    const std::string text = out.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // input, dense/kernel, dense/bias
    CHECK(text.find("input") != std::string::npos);
    CHECK(text.find("dense/kernel") != std::string::npos);
    const auto bias = text.find("dense/bias");
    REQUIRE(bias != std::string::npos);
    CHECK(text.find("<- worst", bias) != std::string::npos);  // on the bias's line, the last
    CHECK(text.find("<- worst") == text.find("<- worst", bias));
}

TEST_CASE("require_gradients_match passes a correct layer and throws naming a wrong one's worst tensor") {
    const Matrix<double> x = random_matrix(4, 3, 2);
    Dense<3, 2, double> good;
    CHECK_NOTHROW(require_gradients_match(good, x, 1e-6));
    WrongBias bad;
    try {
        require_gradients_match(bad, x, 1e-6);
        FAIL("a wrong db passed");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK(what.rfind("layerwise: the gradient of dense/bias does not match finite differences: relative error ", 0) == 0);
        CHECK(what.find("> tolerance 1e-06") != std::string::npos);
        CHECK(what.find("dense/kernel") != std::string::npos);  // the whole report follows
    }
}

TEST_CASE("a NaN gradient is the worst tensor wherever it is, and fails require_gradients_match") {
    GradientCheck check;
    check.tensors = {{"input", 1e-9, 4}, {"dense/kernel", std::nan(""), 6}, {"dense/bias", 1e-3, 2}};
    CHECK(check.worst_tensor().name == "dense/kernel");
    CHECK(std::isnan(check.worst()));
    CHECK(check.report().find("dense/kernel  relative error nan  (6 elements)  <- worst") != std::string::npos);
    check.tensors = {{"input", 1e-9, 4}, {"dense/bias", 1e-3, 2}};
    CHECK(check.worst_tensor().name == "dense/bias");
    CHECK(check.worst() == 1e-3);
}
