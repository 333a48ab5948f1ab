#include "testing.hpp"

#include <layerwise/compose/sequential.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/dense.hpp>
#include <layerwise/layers/dropout.hpp>
#include <layerwise/layers/layer_norm.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::require_gradients;

namespace {
// A (rows x cols) matrix of standard normal numbers (Box-Muller), reproducible from seed.
Matrix<double> normal_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Matrix<double> m = Matrix<double>::from_shape({rows, cols});
    for (auto& v : m) {
        const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
        v = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    return m;
}

double mean_of(const Matrix<double>& m) {
    double s = 0;
    for (double v : m) s += v;
    return s / double(m.size());
}

double variance_of(const Matrix<double>& m) {
    const double mu = mean_of(m);
    double s = 0;
    for (double v : m) s += (v - mu) * (v - mu);
    return s / double(m.size());
}
}  // namespace

TEST_CASE("Dropout and AlphaDropout are the identity in inference mode, forward and backward") {
    const Matrix<double> x = random_matrix(6, 7, 1), dy = random_matrix(6, 7, 2);
    Dropout<double> dropout(0.4);
    AlphaDropout<double> alpha(0.4);
    CHECK(dropout.forward(x, Mode::inference) == x);
    CHECK(dropout.backward(dy) == dy);
    CHECK(alpha.forward(x, Mode::inference) == x);
    CHECK(alpha.backward(dy) == dy);
    CHECK(dropout.draws() == 0);  // inference draws no mask
    CHECK(alpha.draws() == 0);
}

TEST_CASE("Dropout in train mode keeps about 1 - rate of the units, scaled by 1 / (1 - rate)") {
    for (const double rate : {0.1, 0.3, 0.5, 0.8}) {
        CAPTURE(rate);
        Dropout<double> dropout(rate);
        dropout.seed(11);
        const Matrix<double> x = xt::ones<double>({200, 500});  // 100000 units: the kept share's sd is < 0.0016
        const Matrix<double>& y = dropout.forward(x, Mode::train);
        std::size_t kept = 0, wrong = 0;
        for (std::size_t k = 0; k < y.size(); ++k) {
            const double m = dropout.mask().data()[k];
            wrong += !(m == 0.0 || m == 1.0) || y.data()[k] != (m == 1.0 ? 1.0 / (1.0 - rate) : 0.0);
            kept += m == 1.0;
        }
        CHECK(wrong == 0);
        CHECK(std::abs(double(kept) / double(y.size()) - (1 - rate)) < 0.01);
        // the mean is preserved by the inverted scaling
        const Matrix<double> u = random_matrix(200, 500, 3, 0.5, 1.5);
        CHECK(mean_of(dropout.forward(u, Mode::train)) == doctest::Approx(mean_of(u)).epsilon(0.03));
    }
}

TEST_CASE("Dropout backward multiplies dy by the forward's mask and 1 / (1 - rate)") {
    Dropout<double> dropout(0.25);
    const Matrix<double> x = random_matrix(5, 8, 4), dy = random_matrix(5, 8, 5);
    dropout.forward(x, Mode::train);
    const Matrix<double> m = dropout.mask();
    const Matrix<double>& dx = dropout.backward(dy);
    for (std::size_t k = 0; k < dx.size(); ++k)
        CHECK(dx.data()[k] == doctest::Approx(dy.data()[k] * m.data()[k] / 0.75).epsilon(1e-15));
    dropout.rate = 0.5;  // a later change of the rate does not change the last forward's backward
    CHECK(dropout.backward(dy) == dx);
}

TEST_CASE("rate 0 keeps every unit") {
    Dropout<double> dropout(0.0);
    const Matrix<double> x = random_matrix(4, 9, 6);
    CHECK(dropout.forward(x, Mode::train) == x);
    for (double m : dropout.mask()) CHECK(m == 1.0);
}

TEST_CASE("masks follow the counter-based formula: the same seed gives the same bits, another seed others") {
    const Matrix<float> x = random_matrix<float>(16, 32, 7);
    Dropout<> a(0.3), b(0.3), c(0.3);
    a.seed(42);
    b.seed(42);
    c.seed(43);
    a.forward(x, Mode::train);
    b.forward(x, Mode::train);
    c.forward(x, Mode::train);
    CHECK(a.mask() == b.mask());
    CHECK(a.output() == b.output());
    CHECK(a.mask() != c.mask());
    for (std::size_t k = 0; k < x.size(); ++k)
        CHECK(a.mask().data()[k] == (DropoutMask<float>::keeps(42, 0, k, 0.3) ? 1.0f : 0.0f));
    const Matrix<float> first = a.mask();
    a.forward(x, Mode::train);  // the next draw: another mask
    CHECK(a.draws() == 2);
    CHECK(a.mask() != first);
    for (std::size_t k = 0; k < x.size(); ++k)
        CHECK(a.mask().data()[k] == (DropoutMask<float>::keeps(42, 1, k, 0.3) ? 1.0f : 0.0f));
    a.seed(42);  // resets the counter: the first mask again
    CHECK(a.draws() == 0);
    a.forward(x, Mode::train);
    CHECK(a.mask() == first);
}

TEST_CASE("masks are the same bits with one thread and with two") {
    const Matrix<float> x = random_matrix<float>(256, 64, 8);  // 16384 units: two bands on two threads
    auto masks = [&](std::size_t threads) {
        set_threads(threads);
        Dropout<> dropout(0.5);
        AlphaDropout<> alpha(0.2);
        dropout.seed(9);
        alpha.seed(9);
        dropout.forward(x, Mode::train);
        alpha.forward(x, Mode::train);
        std::tuple result{dropout.mask(), dropout.output(), alpha.mask(), alpha.output()};
        set_threads(1);
        return result;
    };
    CHECK(masks(1) == masks(2));
}

TEST_CASE("visit_state gives the seed and the draw counter, so that a checkpoint can restore the sequence of masks") {
    const Matrix<float> x = random_matrix<float>(8, 8, 10);
    Dropout<> dropout(0.5);
    dropout.seed(3);
    dropout.forward(x, Mode::train);
    std::map<std::string, std::uint64_t> saved;
    dropout.visit_state([&](std::string_view name, std::uint64_t& value) { saved[std::string(name)] = value; });
    CHECK(saved == std::map<std::string, std::uint64_t>{{"seed", 3}, {"draws", 1}});
    const Matrix<float> second = dropout.forward(x, Mode::train);
    Dropout<> other(0.5);  // another seed, no draws: restoring both gives the same next mask
    other.seed(8);
    other.visit_state([&](std::string_view name, std::uint64_t& value) { value = saved.at(std::string(name)); });
    CHECK(other.forward(x, Mode::train) == second);
}

TEST_CASE("hold_mask reuses the last mask and leaves the counter alone") {
    const Matrix<double> x = random_matrix(4, 6, 11);
    Dropout<double> dropout(0.5);
    CHECK_THROWS_WITH_AS(
        [&] {
            dropout.hold_mask = true;
            dropout.forward(x, Mode::train);
        }(),
        "layerwise: Dropout: hold_mask is set, but the last mask has shape (0 x 0) and the input (4 x 6): draw one "
        "in a train-mode forward without hold_mask first",
        std::logic_error);
    dropout.hold_mask = false;
    const Matrix<double> y = dropout.forward(x, Mode::train);
    dropout.hold_mask = true;
    CHECK(dropout.forward(x, Mode::train) == y);
    CHECK(dropout.forward(x, Mode::train) == y);
    CHECK(dropout.draws() == 1);
}

TEST_CASE("a rate outside [0, 1) is refused, at construction and at forward, naming it") {
    CHECK_THROWS_WITH_AS(Dropout<>(1.0), "layerwise: Dropout: the rate must be in [0, 1), got 1", std::invalid_argument);
    CHECK_THROWS_WITH_AS(Dropout<>(-0.1), "layerwise: Dropout: the rate must be in [0, 1), got -0.1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(AlphaDropout<>(2.5), "layerwise: AlphaDropout: the rate must be in [0, 1), got 2.5",
                         std::invalid_argument);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(Dropout<>{nan}, "layerwise: Dropout: the rate must be in [0, 1), got nan", std::invalid_argument);
    Dropout<> dropout;
    CHECK(dropout.rate == 0.5);
    dropout.rate = 1.5;
    const Matrix<float> x = zeros<float>(2, 3);
    CHECK_THROWS_WITH_AS(dropout.forward(x, Mode::inference), "layerwise: Dropout: the rate must be in [0, 1), got 1.5",
                         std::invalid_argument);
}

TEST_CASE("AlphaDropout keeps a standard normal input's mean 0 and variance 1") {
    const Matrix<double> x = normal_matrix(400, 500, 12);  // 200000 units
    for (const double rate : {0.05, 0.2, 0.5}) {
        CAPTURE(rate);
        AlphaDropout<double> alpha(rate);
        alpha.seed(13);
        const Matrix<double>& y = alpha.forward(x, Mode::train);
        CHECK(mean_of(y) == doctest::Approx(0.0).scale(1).epsilon(0.01));
        CHECK(variance_of(y) == doctest::Approx(1.0).epsilon(0.02));
    }
}

TEST_CASE("AlphaDropout: y = a (x m + alpha' (1 - m)) + b, dx = a m dy, with PyTorch's a and b") {
    AlphaDropout<double> alpha(0.3);
    const Matrix<double> x = random_matrix(6, 5, 14), dy = random_matrix(6, 5, 15);
    const Matrix<double> y = alpha.forward(x, Mode::train);
    const Matrix<double> dx = alpha.backward(dy);
    // torch.nn.functional.alpha_dropout: a = 1 / sqrt((alpha^2 p + 1) (1 - p)), b = alpha a p, a dropped
    // unit gives -alpha a + b, with alpha = 1.7580993408473766 = scale alpha of SELU
    const double s = 1.7580993408473766, p = 0.3;
    const double a = 1 / std::sqrt((s * s * p + 1) * (1 - p)), b = s * a * p;
    CHECK(AlphaDropout<double>::saturation == doctest::Approx(-s).epsilon(1e-15));
    std::size_t dropped = 0;
    for (std::size_t k = 0; k < y.size(); ++k) {
        const bool kept = alpha.mask().data()[k] == 1.0;
        dropped += !kept;
        CHECK(y.data()[k] == doctest::Approx(kept ? a * x.data()[k] + b : -s * a + b).epsilon(1e-14));
        CHECK(dx.data()[k] == doctest::Approx(kept ? a * dy.data()[k] : 0.0).epsilon(1e-14));
    }
    CHECK(dropped > 0);
}

TEST_CASE("Dropout and AlphaDropout gradients match finite differences (train mode with hold_mask)") {
    const Matrix<double> x = random_matrix(5, 6, 16);
    Dropout<>::rebind<double> dropout;
    AlphaDropout<>::rebind<double> alpha;
    dropout.rate = alpha.rate = 0.4;
    require_gradients(dropout, x, Mode::inference);
    require_gradients(alpha, x, Mode::inference);
    dropout.forward(x, Mode::train);
    alpha.forward(x, Mode::train);
    dropout.hold_mask = alpha.hold_mask = true;
    require_gradients(dropout, x, Mode::train);
    require_gradients(alpha, x, Mode::train);
}

TEST_CASE("Dropout inside a network with Dense, LayerNorm and GELU has correct gradients") {
    using Net = Sequential<Dense<8, 16>, LayerNorm<16>, GELU, Dropout<>, Dense<16, 4>>;
    Net::rebind<double> net;
    init(net, 5);
    const Matrix<double> x = random_matrix(6, 8, 17);
    require_gradients(net, x, Mode::inference);
    net.forward(x, Mode::train);
    net.layer<3>().hold_mask = true;
    require_gradients(net, x, Mode::train);
    Net floats;  // and the float network runs
    const Matrix<float> xf = random_matrix<float>(6, 8, 17);
    CHECK(floats.forward(xf, Mode::train).shape(1) == 4);
}

TEST_CASE("AlphaDropout inside a SELU network has correct gradients") {
    using Net = Sequential<Dense<8, 16>, SELU, AlphaDropout<>, Dense<16, 4>>;
    Net::rebind<double> net;
    init(net, 6);
    const Matrix<double> x = random_matrix(6, 8, 18);
    require_gradients(net, x, Mode::inference);
    net.forward(x, Mode::train);
    net.layer<2>().hold_mask = true;
    require_gradients(net, x, Mode::train);
}

TEST_CASE("init seeds each Dropout of a network from the network's seed and the layer's position") {
    Sequential<Dense<4, 32>, Dropout<>, Dense<32, 32>, Dropout<>> a, b;
    init(a, 1);
    init(b, 1);
    const Matrix<float> x = random_matrix<float>(8, 4, 19);
    a.forward(x, Mode::train);
    b.forward(x, Mode::train);
    CHECK(a.layer<1>().mask() == b.layer<1>().mask());
    CHECK(a.layer<3>().mask() == b.layer<3>().mask());
    CHECK(a.layer<1>().mask() != a.layer<3>().mask());
}

TEST_CASE("Dropout and AlphaDropout are width-agnostic layers without parameters") {
    static_assert(Dropout<>::in_features == any_width && Dropout<>::out_features == any_width);
    static_assert(Dropout<>::parameter_count == 0 && AlphaDropout<>::parameter_count == 0);
    static_assert(std::is_same_v<Dropout<>::scalar_type, float>);
    static_assert(std::is_same_v<AlphaDropout<>::rebind<double>, AlphaDropout<double>>);
    static_assert(Dropout<>::name == "dropout" && AlphaDropout<>::name == "alpha_dropout");
    static_assert(Layer<Dropout<>> && Layer<AlphaDropout<double>>);
    Dropout<> dropout;
    int visited = 0;
    dropout.visit_parameters([&](auto&&...) { ++visited; });
    CHECK(visited == 0);
}
