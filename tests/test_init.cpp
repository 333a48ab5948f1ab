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
                         "layerwise: unknown initialiser 'xavier' (expected glorot_uniform, he_uniform, he_normal, "
                         "lecun_normal or orthogonal)",
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

namespace {
// The largest |(A^T A)_ij - g^2 delta_ij| of a (rows x cols) kernel with rows >= cols, or of
// A A^T when rows < cols: how far A is from gain g times an orthogonal matrix.
template <class K>
double distance_from_orthogonal(const K& w, double gain) {
    const std::size_t rows = w.shape(0), cols = w.shape(1), n = std::min(rows, cols);
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double dot = 0;
            if (rows >= cols)
                for (std::size_t k = 0; k < rows; ++k) dot += double(w(k, i)) * double(w(k, j));
            else
                for (std::size_t k = 0; k < cols; ++k) dot += double(w(i, k)) * double(w(j, k));
            worst = std::max(worst, std::abs(dot - (i == j ? gain * gain : 0.0)));
        }
    return worst;
}
}  // namespace

TEST_CASE("orthogonal kernels: W^T W = gain^2 I (tall), W W^T = gain^2 I (wide), square both ways") {
    Sequential<Dense<300, 64>, Dense<64, 64>, Dense<64, 200>> net;
    init(net, 11, InitPlan{KernelInit::orthogonal});
    CHECK(distance_from_orthogonal(net.layer<0>().W, 1.0) < 1e-5);
    CHECK(distance_from_orthogonal(net.layer<1>().W, 1.0) < 1e-5);
    CHECK(distance_from_orthogonal(net.layer<2>().W, 1.0) < 1e-5);
    const double g = std::sqrt(2.0);
    init(net, 11, InitPlan{KernelInit::orthogonal, g});
    CHECK(distance_from_orthogonal(net.layer<0>().W, g) < 1e-5);
    CHECK(distance_from_orthogonal(net.layer<1>().W, g) < 1e-5);
    CHECK(distance_from_orthogonal(net.layer<2>().W, g) < 1e-5);
    // a Gaussian matrix's Q is not an identity or a permutation: its weights spread as N(0, 1/fan)
    const Moments m = moments(net.layer<1>().W);
    CHECK(m.variance == doctest::Approx(2.0 / 64).epsilon(0.02));  // gain^2 / 64: the rows are unit vectors
    CHECK(m.max_abs < 0.5 * g);
    // in double the same seed gives the same matrix, to float rounding
    Sequential<Dense<300, 64>, Dense<64, 64>, Dense<64, 200>>::rebind<double> d;
    init(d, 11, InitPlan{KernelInit::orthogonal, g});
    CHECK(distance_from_orthogonal(d.layer<1>().W, g) < 1e-12);
    for (std::size_t k = 0; k < d.layer<1>().W.size(); ++k)
        CHECK(net.layer<1>().W.data()[k] == static_cast<float>(d.layer<1>().W.data()[k]));
}

TEST_CASE("an orthogonal kernel is not the identity's rotation of one sign: the signs of R's diagonal are corrected") {
    // With R's diagonal positive, Q is uniform over the orthogonal matrices: its determinant is
    // +1 or -1 with equal chances, and its diagonal has no bias towards either sign.
    double diagonal = 0;
    std::size_t count = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
        Dense<16, 16, double> l;
        init(l, seed, InitPlan{KernelInit::orthogonal});
        for (std::size_t i = 0; i < 16; ++i, ++count) diagonal += l.W(i, i);
        CHECK(distance_from_orthogonal(l.W, 1.0) < 1e-12);
    }
    CHECK(std::abs(diagonal / double(count)) < 0.05);  // each diagonal element has mean 0, sd 0.25
}

TEST_CASE("lecun_normal has variance 1 / fan_in, truncated at 2 sigma") {
    Sequential<Dense<400, 300>> net;
    init(net, 9, KernelInit::lecun_normal);
    const Moments m = moments(net.layer<0>().W);
    const double sigma = std::sqrt(1.0 / 400) / 0.87962566103423978;
    CHECK(m.variance == doctest::Approx(1.0 / 400).epsilon(0.02));
    CHECK(m.max_abs <= 2 * sigma * (1 + 1e-6));
    CHECK(m.max_abs > 1.95 * sigma);
    CHECK(std::abs(m.mean) < 1e-3);
    CHECK(parse_kernel_init("lecun_normal") == KernelInit::lecun_normal);
    CHECK(parse_kernel_init("orthogonal") == KernelInit::orthogonal);
}

TEST_CASE("a plan gives named layers their own scheme and gain, and refuses a layer the network lacks") {
    Sequential<Dense<50, 30>, ReLU, Dense<30, 30>, ReLU, Dense<30, 10>> net, reference;
    init(net, 4, InitPlan{KernelInit::he_normal, 1.0, {{"dense_1", KernelInit::orthogonal, 2.0}}});
    CHECK(distance_from_orthogonal(net.layer<2>().W, 2.0) < 1e-5);
    const Moments first = moments(net.layer<0>().W);
    CHECK(first.variance == doctest::Approx(2.0 / 50).epsilon(0.15));  // he_normal, gain 1
    // the layers not named draw from the same stream in the same order: a plan that names no
    // layer gives dense's kernel the same bits
    init(reference, 4, KernelInit::he_normal);
    CHECK(net.layer<0>().W == reference.layer<0>().W);

    Sequential<Dense<50, 30>, ReLU, Dense<30, 10>> before;
    init(before, 4);
    auto after = before;
    CHECK_THROWS_WITH_AS(init(after, 5, InitPlan{KernelInit::he_normal, 1.0, {{"dense_7", KernelInit::orthogonal}}}),
                         "layerwise: init: the plan names layer 'dense_7', which is not a layer of this network "
                         "with a kernel",
                         std::invalid_argument);
    CHECK(after.layer<0>().W == before.layer<0>().W);  // refused before anything changed
    CHECK_THROWS_AS(init(after, 5, InitPlan{KernelInit::he_normal, 1.0, {{"activation", KernelInit::orthogonal}}}),
                    std::invalid_argument);
}

TEST_CASE("gain multiplies every scheme's kernel") {
    Sequential<Dense<40, 20>> one, three;
    init(one, 6, InitPlan{KernelInit::glorot_uniform, 1.0});
    init(three, 6, InitPlan{KernelInit::glorot_uniform, 3.0});
    for (std::size_t k = 0; k < one.layer<0>().W.size(); ++k)
        CHECK(three.layer<0>().W.data()[k] == doctest::Approx(3.0 * one.layer<0>().W.data()[k]).epsilon(1e-6));
}

namespace {
// A layer with random draws of its own: init hands it a seed from the network's.
struct Seeded : Activation<relu_fn> {
    template <class U>
    using rebind = Seeded;
    std::uint64_t given = 0;
    void seed(std::uint64_t s) { given = s; }
};
}  // namespace

TEST_CASE("init seeds every layer that has a seed member, from the network's seed and the layer's position") {
    Sequential<Dense<4, 4>, Seeded, Dense<4, 4>, Seeded> a, b;
    init(a, 1);
    init(b, 1);
    CHECK(a.layer<1>().given == b.layer<1>().given);
    CHECK(a.layer<1>().given != a.layer<3>().given);
    const std::uint64_t first = a.layer<1>().given;
    init(a, 2);
    CHECK(a.layer<1>().given != first);
    CHECK(a.layer<1>().given == layer_seed(2, 1));
}
