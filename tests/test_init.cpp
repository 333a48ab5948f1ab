#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

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
    for (float g : net.layer_as_declared<1>().gamma) CHECK(g == 1.0f);
    for (float v : net.layer_as_declared<1>().moving_variance) CHECK(v == 1.0f);
    for (float m : net.layer_as_declared<1>().moving_mean) CHECK(m == 0.0f);
}

TEST_CASE("init is deterministic for a seed and differs between seeds") {
    Net a, b, c;
    init(a, 7);
    init(b, 7);
    init(c, 8);
    CHECK(a.layer_as_declared<3>().W == b.layer_as_declared<3>().W);
    CHECK(a.layer_as_declared<3>().W != c.layer_as_declared<3>().W);
}

TEST_CASE("float and double networks get the same initial values from the same seed") {
    Net f;
    Net::rebind<double> d;
    init(f, 3);
    init(d, 3);
    for (std::size_t k = 0; k < f.layer<0>().W.size(); ++k)
        CHECK(f.layer<0>().W.data()[k] == static_cast<float>(d.layer<0>().W.data()[k]));
}

namespace {
// Mean, variance and largest magnitude of a kernel's weights.
struct Moments {
    double mean = 0, variance = 0, max_abs = 0;
};
template <class K>
Moments moments(const K& k) {
    Moments m;
    for (auto w : k) {
        m.mean += double(w);
        m.variance += double(w) * double(w);
        m.max_abs = std::max(m.max_abs, std::abs(double(w)));
    }
    m.mean /= double(k.size());
    m.variance = m.variance / double(k.size()) - m.mean * m.mean;
    return m;
}
}  // namespace

TEST_CASE("He initialisers have variance 2 / fan_in (uniform within sqrt(6 / fan_in), normal truncated at 2 sigma)") {
    using Wide = Sequential<Dense<400, 300>>;
    Wide u, n;
    init(u, 5, KernelInit::he_uniform);
    init(n, 5, KernelInit::he_normal);
    const Moments mu = moments(u.layer<0>().W), mn = moments(n.layer<0>().W);
    CHECK(mu.max_abs <= std::sqrt(6.0 / 400));
    CHECK(mu.max_abs > 0.99 * std::sqrt(6.0 / 400));
    CHECK(mu.variance == doctest::Approx(2.0 / 400).epsilon(0.02));
    CHECK(mn.variance == doctest::Approx(2.0 / 400).epsilon(0.02));
    const double sigma = std::sqrt(2.0 / 400) / 0.87962566103423978;
    CHECK(mn.max_abs <= 2 * sigma * (1 + 1e-6));
    CHECK(mn.max_abs > 1.95 * sigma);
    CHECK(std::abs(mn.mean) < 1e-3);
    CHECK(u.layer<0>().W != n.layer<0>().W);
}

TEST_CASE("initialisers are named as Keras names them, and an unknown name is refused") {
    CHECK(parse_kernel_init("he_normal") == KernelInit::he_normal);
    CHECK(to_string(KernelInit::glorot_uniform) == "glorot_uniform");
    CHECK_THROWS_WITH_AS(parse_kernel_init("xavier"),
                         "layerwise: unknown initialiser 'xavier' (expected glorot_uniform, he_uniform or he_normal)",
                         std::invalid_argument);
}

namespace {
// A user's layer whose parameters have names init has never heard of: it says how each is
// initialised, and init follows that, not the names.
struct Renamed : Dense<40, 10> {
    template <class U>
    using rebind = Renamed;
    static constexpr std::string_view name = "renamed";
    template <class F>
    void visit_parameters(F&& f) {
        f("weight", W, dW, true, Initializer::kernel);
        f("offset", b, db, true, Initializer::ones);
    }
};
}  // namespace

TEST_CASE("init follows each layer's declared initialisers, whatever the parameters are called") {
    Sequential<Renamed> net;
    init(net, 3);
    const Moments m = moments(net.layer<0>().W);
    const double limit = std::sqrt(6.0 / (40 + 10));
    CHECK(m.max_abs <= limit);
    CHECK(m.max_abs > 0.9 * limit);  // Glorot-uniform, not zeros
    for (float v : net.layer<0>().b) CHECK(v == 1.0f);
    std::vector<std::string> names;
    for_each_parameter(net, [&](std::string_view name, auto&, auto&) { names.emplace_back(name); });
    CHECK(names == std::vector<std::string>{"renamed/weight", "renamed/offset"});
}

TEST_CASE("a network is initialised when constructed, as init(net, default_init_seed) does it") {
    Net constructed, seeded;
    init(seeded, 123);
    init(seeded, default_init_seed);  // re-seeding gives the same bits as construction
    std::vector<std::vector<float>> a, b;
    for_each_parameter(constructed, [&](const ParameterInfo&, auto& v, auto&) { a.emplace_back(v.begin(), v.end()); });
    for_each_parameter(seeded, [&](const ParameterInfo&, auto& v, auto&) { b.emplace_back(v.begin(), v.end()); });
    CHECK(a == b);
    bool kernel_nonzero = false;
    for (float w : constructed.layer<0>().W) kernel_nonzero |= w != 0.0f;
    CHECK(kernel_nonzero);
}

TEST_CASE("a layer on its own and the copies of a Repeat are initialised when constructed, each copy its own") {
    Dense<5, 4> alone, seeded;
    init(seeded, default_init_seed);
    CHECK(std::equal(alone.W.begin(), alone.W.end(), seeded.W.begin()));
    CHECK(std::any_of(alone.W.begin(), alone.W.end(), [](float w) { return w != 0.0f; }));

    Repeat<3, Dense<4, 4>, ReLU> blocks;
    const auto& w0 = blocks.blocks[0].layer<0>().W;
    const auto& w1 = blocks.blocks[1].layer<0>().W;
    CHECK(!std::equal(w0.begin(), w0.end(), w1.begin()));  // not three equal blocks
    Repeat<3, Dense<4, 4>, ReLU> seeded_blocks;
    init(seeded_blocks, default_init_seed);
    CHECK(std::equal(w1.begin(), w1.end(), seeded_blocks.blocks[1].layer<0>().W.begin()));
}
