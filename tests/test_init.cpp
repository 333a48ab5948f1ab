#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <cmath>

using namespace layerwise;

using Net = Sequential<Dense<50, 30>, BatchNorm<30>, ReLU, Dense<30, 10>>;

TEST_CASE("init is Keras' default: glorot-uniform kernels, zero biases, unit gamma and moving variance") {
    Net net;
    init(net, 42);
    const auto& k = net.layer<0>().W;
    const double limit = std::sqrt(6.0 / (50 + 30));
    double mean = 0, sq = 0, max_abs = 0;
    for (float w : k) {
        mean += w;
        sq += double(w) * w;
        max_abs = std::max(max_abs, std::abs(double(w)));
    }
    mean /= double(k.size());
    CHECK(max_abs <= limit);
    CHECK(max_abs > 0.95 * limit);
    CHECK(std::abs(mean) < 0.02);
    CHECK(sq / double(k.size()) == doctest::Approx(limit * limit / 3).epsilon(0.05));  // variance of U(-a, a)
    for (float b : net.layer<0>().b) CHECK(b == 0.0f);
    for (float g : net.layer<1>().gamma) CHECK(g == 1.0f);
    for (float v : net.layer<1>().moving_variance) CHECK(v == 1.0f);
    for (float m : net.layer<1>().moving_mean) CHECK(m == 0.0f);
}

TEST_CASE("init is deterministic for a seed and differs between seeds") {
    Net a, b, c;
    init(a, 7);
    init(b, 7);
    init(c, 8);
    CHECK(a.layer<3>().W == b.layer<3>().W);
    CHECK(a.layer<3>().W != c.layer<3>().W);
}

TEST_CASE("float and double networks get the same initial values from the same seed") {
    Net f;
    Net::rebind<double> d;
    init(f, 3);
    init(d, 3);
    for (std::size_t k = 0; k < f.layer<0>().W.size(); ++k)
        CHECK(f.layer<0>().W.data()[k] == static_cast<float>(d.layer<0>().W.data()[k]));
}
