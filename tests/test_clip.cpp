// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_: the norm over every
// trainable gradient, the exact factor max_norm / (total + 1e-6) when it is below 1, and the
// moving statistics neither counted nor scaled.
#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/optim/clip.hpp>

#include <cmath>
#include <vector>

using namespace layerwise;

namespace {

using Net = Sequential<Dense<2, 3, double>, BatchNorm<3, double>>;

// Gradients with a known norm: dW = 1..6, db = 0.5, dgamma = 1, dbeta = -2; and the moving
// statistics' (untrainable) gradient slots set to 100, which must count for nothing.
void set_gradients(Net& net) {
    double k = 1;
    for (auto& g : net.layer<0>().dW) g = k++;
    net.layer<0>().db.fill(0.5);
    net.layer<1>().dgamma.fill(1.0);
    net.layer<1>().dbeta.fill(-2.0);
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (!p.trainable) for (auto& g : grad) g = 100;
    });
}

// Every gradient, trainable or not, in visiting order.
std::vector<std::vector<double>> gradients_of(Net& net) {
    std::vector<std::vector<double>> out;
    for_each_parameter(net, [&](const ParameterInfo&, auto&, auto& grad) { out.emplace_back(grad.begin(), grad.end()); });
    return out;
}

// sqrt(1^2 + ... + 6^2 + 3 * 0.25 + 3 * 1 + 3 * 4) = sqrt(91 + 15.75)
const double expected_norm = std::sqrt(91 + 3 * 0.25 + 3 * 1.0 + 3 * 4.0);

}  // namespace

TEST_CASE("below the threshold the gradients are left alone, and the norm is returned") {
    Net net;
    set_gradients(net);
    const auto before = gradients_of(net);
    CHECK(gradient_norm(net) == doctest::Approx(expected_norm).epsilon(1e-15));
    CHECK(clip_gradient_norm(net, 20.0) == doctest::Approx(expected_norm).epsilon(1e-15));  // ~10.33 < 20
    CHECK(gradients_of(net) == before);
}

TEST_CASE("above it every trainable gradient is scaled by max_norm / (total + 1e-6), the others untouched") {
    Net net;
    set_gradients(net);
    const auto before = gradients_of(net);
    const std::vector<double> moving_mean(net.layer<1>().moving_mean.begin(), net.layer<1>().moving_mean.end());
    const double total = clip_gradient_norm(net, 2.0);
    CHECK(total == doctest::Approx(expected_norm).epsilon(1e-15));
    const double coef = 2.0 / (total + 1e-6);
    const auto after = gradients_of(net);
    std::size_t k = 0;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) {
        CAPTURE(p.name);
        for (std::size_t j = 0; j < after[k].size(); ++j)
            CHECK(after[k][j] == (p.trainable ? before[k][j] * coef : before[k][j]));  // exact: one product
        ++k;
    });
    CHECK(gradient_norm(net) == doctest::Approx(2.0).epsilon(1e-6));
    CHECK(std::vector<double>(net.layer<1>().moving_mean.begin(), net.layer<1>().moving_mean.end()) == moving_mean);
}

TEST_CASE("float gradients are scaled by the factor in float; a zero gradient stays zero; max_norm < 0 is refused") {
    Dense<2, 2> layer;
    layer.dW.fill(3.0f);  // norm sqrt(4 * 9) = 6
    layer.db.fill(0.0f);
    CHECK(clip_gradient_norm(layer, 1.5) == doctest::Approx(6.0));
    const float coef = static_cast<float>(1.5 / (6.0 + 1e-6));
    for (float g : layer.dW) CHECK(g == 3.0f * coef);
    for (float g : layer.db) CHECK(g == 0.0f);
    Dense<2, 2> zero;
    zero.dW.fill(0.0f);
    zero.db.fill(0.0f);
    CHECK(clip_gradient_norm(zero, 0.0) == 0.0);
    for (float g : zero.dW) CHECK(g == 0.0f);
    CHECK_THROWS_WITH_AS(clip_gradient_norm(layer, -1.0),
                         "layerwise: clip_gradient_norm: max_norm must be at least 0, got -1.000000",
                         std::invalid_argument);
}
