#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/optim/adam.hpp>
#include <layerwise/optim/adamw.hpp>
#include <layerwise/optim/any_optimizer.hpp>
#include <layerwise/optim/keras_presets.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/optim/sgd.hpp>

#include <cmath>

using namespace layerwise;

namespace {
// A one-weight, one-bias "network" whose gradients the test sets by hand.
// It starts at w = b = 0 (construction draws a random kernel), so every
// expected value below is the optimizer's displacement alone.
struct Scalar {
    Dense<1, 1, double> layer;
    Scalar() {
        w() = 0;
        b() = 0;
    }
    double& w() { return layer.W(0, 0); }
    double& b() { return layer.b(0); }
    void grads(double dw, double db) {
        layer.dW(0, 0) = dw;
        layer.db(0) = db;
    }
};
}  // namespace

TEST_CASE("RMSprop tf2: a = 0.9 a + 0.1 g^2, p -= lr g / sqrt(a + eps)") {
    Scalar s;
    s.w() = 1.0;
    RMSprop<double> opt;
    s.grads(0.5, 0.0);
    opt.step(s.layer);
    double a = 0.1 * 0.25;
    double w = 1.0 - 1e-3 * 0.5 / std::sqrt(a + 1e-7);
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-15));
    CHECK(s.b() == 0.0);  // a zero gradient moves nothing
    s.grads(-0.25, 0.0);
    opt.step(s.layer);
    a = 0.9 * a + 0.1 * 0.0625;
    w -= 1e-3 * -0.25 / std::sqrt(a + 1e-7);
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-15));
}

TEST_CASE("RMSprop keras2.1 puts epsilon outside the root: a vanishing gradient becomes a full step") {
    Scalar tf2, old;
    RMSprop<double> a, b;
    b.epsilon_placement = RMSpropEpsilon::outside;
    tf2.grads(1e-8, 0);
    old.grads(1e-8, 0);
    a.step(tf2.layer);
    b.step(old.layer);
    const double acc = 0.1 * 1e-16;
    CHECK(tf2.w() == doctest::Approx(-1e-3 * 1e-8 / std::sqrt(acc + 1e-7)).epsilon(1e-12));
    CHECK(old.w() == doctest::Approx(-1e-3 * 1e-8 / (std::sqrt(acc) + 1e-7)).epsilon(1e-12));
    CHECK(std::abs(old.w()) > 1000 * std::abs(tf2.w()));  // ~7.6e-5 against ~3.2e-8
}

TEST_CASE("Adam follows TF's ApplyAdam for two steps") {
    Scalar s;
    Adam<double> opt;
    const double g1 = 0.3, g2 = -0.1;
    s.grads(g1, 0);
    opt.step(s.layer);
    double m = 0.1 * g1, v = 0.001 * g1 * g1;
    double w = -1e-3 * std::sqrt(1 - 0.999) / (1 - 0.9) * m / (std::sqrt(v) + 1e-7);
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-13));
    s.grads(g2, 0);
    opt.step(s.layer);
    m = 0.9 * m + 0.1 * g2;
    v = 0.999 * v + 0.001 * g2 * g2;
    w -= 1e-3 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9) * m / (std::sqrt(v) + 1e-7);
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-13));
    CHECK(opt.iterations() == 2);
}

TEST_CASE("AdamW follows torch.optim.AdamW for two steps: p *= 1 - lr wd, then eps beside sqrt(v_hat)") {
    Scalar s;
    s.w() = 1.0;
    s.b() = 2.0;
    AdamW<double> opt;  // PyTorch's defaults: lr 1e-3, betas 0.9 / 0.999, eps 1e-8, weight_decay 0.01
    CHECK(opt.weight_decay == 0.01);
    CHECK(opt.epsilon == 1e-8);
    const double lr = 1e-3, wd = 0.01, eps = 1e-8, g1 = 0.3, g2 = -0.1;
    s.grads(g1, 0);
    opt.step(s.layer);
    double m = 0.1 * g1, v = 0.001 * g1 * g1;
    double w = 1.0 * (1 - lr * wd);
    w -= lr / (1 - 0.9) * (m / (std::sqrt(v) / std::sqrt(1 - 0.999) + eps));
    double b = 2.0 * (1 - lr * wd);  // a zero gradient: the decay alone
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-14));
    CHECK(s.b() == doctest::Approx(b).epsilon(1e-15));
    s.grads(g2, 0);
    opt.step(s.layer);
    m = 0.9 * m + 0.1 * g2;
    v = 0.999 * v + 0.001 * g2 * g2;
    w *= 1 - lr * wd;
    w -= lr / (1 - 0.9 * 0.9) * (m / (std::sqrt(v) / std::sqrt(1 - 0.999 * 0.999) + eps));
    b *= 1 - lr * wd;
    CHECK(s.w() == doctest::Approx(w).epsilon(1e-14));
    CHECK(s.b() == doctest::Approx(b).epsilon(1e-15));
    CHECK(opt.iterations() == 2);
    // PyTorch's eps, not TF's: with weight_decay 0 AdamW is not our Adam where sqrt(v) is near eps
    Scalar x, y;
    AdamW<double> no_decay(1e-3, 0.0);
    Adam<double> adam;
    adam.epsilon = 1e-8;
    x.grads(1e-9, 0);
    y.grads(1e-9, 0);
    no_decay.step(x.layer);
    adam.step(y.layer);
    CHECK(x.w() == doctest::Approx(-1e-3 / 0.1 * (1e-10 / (std::sqrt(1e-21) / std::sqrt(0.001) + 1e-8))).epsilon(1e-12));
    CHECK(std::abs(x.w()) > 10 * std::abs(y.w()));  // ~9.1e-5 against ~3.2e-6
}

TEST_CASE("weight decay, PyTorch's coupled L2: SGD, RMSprop and Adam use g + wd p") {
    const double wd = 0.1, g = 0.5, p0 = 1.0, gd = g + wd * p0;  // g + wd p = 0.6
    SUBCASE("SGD, plain and with momentum") {
        Scalar plain, mom;
        plain.w() = mom.w() = p0;
        plain.b() = 3.0;  // a zero gradient: the decay alone moves it
        SGD<double> a(0.1), c(0.1, 0.9);
        a.weight_decay = c.weight_decay = wd;
        plain.grads(g, 0);
        mom.grads(g, 0);
        a.step(plain.layer);
        c.step(mom.layer);
        CHECK(plain.w() == doctest::Approx(p0 - 0.1 * gd).epsilon(1e-15));  // 0.94
        CHECK(plain.b() == doctest::Approx(3.0 - 0.1 * wd * 3.0).epsilon(1e-15));
        CHECK(mom.w() == doctest::Approx(p0 + (0.9 * 0 - 0.1 * gd)).epsilon(1e-15));  // v = -lr g
    }
    SUBCASE("RMSprop") {
        Scalar s;
        s.w() = p0;
        RMSprop<double> opt;
        opt.weight_decay = wd;
        s.grads(g, 0);
        opt.step(s.layer);
        const double a = 0.1 * gd * gd;
        CHECK(s.w() == doctest::Approx(p0 - 1e-3 * gd / std::sqrt(a + 1e-7)).epsilon(1e-15));
    }
    SUBCASE("Adam") {
        Scalar s;
        s.w() = p0;
        Adam<double> opt;
        opt.weight_decay = wd;
        s.grads(g, 0);
        opt.step(s.layer);
        const double m = 0.1 * gd, v = 0.001 * gd * gd;
        CHECK(s.w() == doctest::Approx(p0 - 1e-3 * std::sqrt(1 - 0.999) / (1 - 0.9) * m / (std::sqrt(v) + 1e-7))
                           .epsilon(1e-13));
    }
}

namespace {
// One step of Opt with weight decay wd on a Dense<16, 16> of floats (whole packs and a tail:
// the bias has 16 values), against `expected` computed per element in double.
template <class Opt, class Expected>
void decay_matches_by_element(float wd, Expected expected) {
    Dense<16, 16> layer;
    init(layer, 5);
    layer.dW = layerwise::testing::random_matrix<float>(16, 16, 8);
    const Matrix<float> w0 = layer.W, g = layer.dW;
    Opt opt;
    opt.weight_decay = wd;
    opt.step(layer);
    for (std::size_t i = 0; i < 16; ++i)
        for (std::size_t j = 0; j < 16; ++j)
            CHECK(layer.W(i, j) == doctest::Approx(expected(double(w0(i, j)), double(g(i, j)))).epsilon(1e-5));
}
}  // namespace

TEST_CASE("weight decay in the vector loops: every element as by hand") {
    const double wd = 0.05;
    decay_matches_by_element<SGD<float>>(float(wd), [&](double p, double g) { return p - 0.01 * (g + wd * p); });
    decay_matches_by_element<RMSprop<float>>(float(wd), [&](double p, double g) {
        const double gd = g + wd * p;
        return p - 1e-3 * gd / std::sqrt(0.1 * gd * gd + 1e-7);
    });
    decay_matches_by_element<Adam<float>>(float(wd), [&](double p, double g) {
        const double gd = g + wd * p;
        return p - 1e-3 * std::sqrt(0.001) / 0.1 * (0.1 * gd) / (std::sqrt(0.001 * gd * gd) + 1e-7);
    });
    decay_matches_by_element<AdamW<float>>(float(wd), [&](double p, double g) {
        return p * (1 - 1e-3 * wd) - 1e-3 / 0.1 * (0.1 * g) / (std::sqrt(0.001 * g * g) / std::sqrt(0.001) + 1e-8);
    });
}

TEST_CASE("SGD: plain, momentum and Nesterov") {
    Scalar plain, mom, nes;
    SGD<double> a(0.1), b(0.1, 0.9), c(0.1, 0.9, true);
    for (double g : {1.0, 0.5}) {
        plain.grads(g, 0);
        mom.grads(g, 0);
        nes.grads(g, 0);
        a.step(plain.layer);
        b.step(mom.layer);
        c.step(nes.layer);
    }
    CHECK(plain.w() == doctest::Approx(-0.15));
    // v1 = -0.1, p1 = -0.1; v2 = 0.9 * -0.1 - 0.05 = -0.14, p2 = -0.24
    CHECK(mom.w() == doctest::Approx(-0.24));
    // p1 = 0.9 * -0.1 - 0.1 = -0.19; p2 = p1 + 0.9 * -0.14 - 0.05 = -0.366
    CHECK(nes.w() == doctest::Approx(-0.366));
}

TEST_CASE("optimizers never touch BatchNorm's moving statistics") {
    Sequential<Dense<3, 3, double>, BatchNorm<3, double>> net;
    init(net, 1);
    net.layer<1>().moving_mean.fill(5.0);
    net.layer<1>().moving_variance.fill(7.0);
    RMSprop<double> r;
    Adam<double> a;
    SGD<double> s(0.1, 0.9);
    AdamW<double> aw;
    r.weight_decay = a.weight_decay = s.weight_decay = 0.1;  // decay, too, is for trainable parameters only
    net.layer<1>().dgamma.fill(1.0);
    r.step(net);
    a.step(net);
    s.step(net);
    aw.step(net);
    for (double v : net.layer<1>().moving_mean) CHECK(v == 5.0);
    for (double v : net.layer<1>().moving_variance) CHECK(v == 7.0);
    CHECK(net.layer<1>().gamma(0) != 1.0);  // while gamma did move
}

TEST_CASE("a Keras preset gives the same bits as its parts set one by one") {
    using Net = Sequential<Dense<8, 16>, BatchNorm<16>, ReLU, Dense<16, 16>, BatchNorm<16>, ReLU, Dense<16, 4>>;
    const Matrix<float> x = layerwise::testing::random_matrix<float>(32, 8, 11);
    const std::vector<int> y = [] {
        std::vector<int> v(32);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = int(i % 4);
        return v;
    }();
    // Five RMSprop steps; returns every parameter (moving statistics included) as one vector.
    auto train = [&](auto configure) {
        Net net;
        init(net, 9);
        RMSprop<float> opt;
        configure(net, opt);
        SoftmaxCrossEntropy<float> loss;
        for (int step = 0; step < 5; ++step) {
            loss.forward(net.forward(x, Mode::train), y);
            net.backward(loss.backward());
            opt.step(net);
        }
        std::vector<float> all;
        for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { all.insert(all.end(), value.begin(), value.end()); });
        return all;
    };
    for (KerasVersion version : {KerasVersion::tf2, KerasVersion::keras2_1}) {
        CAPTURE(to_string(version));
        const auto by_preset = train([&](Net& net, RMSprop<float>& opt) {
            use_keras_numerics(keras_numerics(version), net, opt);
        });
        const auto by_parts = train([&](Net& net, RMSprop<float>& opt) {
            opt = RMSprop<float>(1e-3f, version == KerasVersion::tf2 ? RMSpropEpsilon::inside : RMSpropEpsilon::outside);
            set_bn_debias(net, version == KerasVersion::keras2_1);
        });
        CHECK(by_preset == by_parts);
    }
    // and the parts matter: each alone changes the result
    const auto tf2 = train([](Net&, RMSprop<float>&) {});
    const auto eps_only = train([](Net&, RMSprop<float>& opt) { opt.epsilon_placement = RMSpropEpsilon::outside; });
    const auto debias_only = train([](Net& net, RMSprop<float>&) { set_bn_debias(net, true); });
    CHECK(tf2 != eps_only);
    CHECK(tf2 != debias_only);
    CHECK(eps_only != debias_only);
}

namespace {
// Each BatchNorm's momentum and debiasing, input to output.
template <class Net>
std::vector<std::pair<float, bool>> bn_settings(Net& net) {
    std::vector<std::pair<float, bool>> out;
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.zero_debias; }) out.emplace_back(layer.momentum, layer.zero_debias);
    });
    return out;
}
}  // namespace

TEST_CASE("set_bn_momentum sets every BatchNorm's momentum and refuses values outside [0, 1)") {
    Sequential<Dense<2, 2>, BatchNorm<2>, ReLU, BatchNorm<2>> net;
    set_bn_momentum(net, 0.9);
    using S = std::vector<std::pair<float, bool>>;
    CHECK(bn_settings(net) == S{{0.9f, false}, {0.9f, false}});
    CHECK_THROWS_WITH_AS(set_bn_momentum(net, 1.0), "layerwise: BatchNorm momentum must be in [0, 1), got 1.000000",
                         std::invalid_argument);
    CHECK(parse_rmsprop_epsilon("outside") == RMSpropEpsilon::outside);
    CHECK_THROWS_WITH_AS(parse_rmsprop_epsilon("both"),
                         "layerwise: unknown RMSprop epsilon placement 'both' (expected inside or outside)",
                         std::invalid_argument);
}

TEST_CASE("set_bn_debias, and the Keras presets' BatchNorm part, switch every BatchNorm's averages") {
    Sequential<Dense<2, 2>, BatchNorm<2>, ReLU, BatchNorm<2>> net;
    using S = std::vector<std::pair<float, bool>>;
    set_bn_debias(net, true);
    CHECK(bn_settings(net) == S{{0.99f, true}, {0.99f, true}});
    RMSprop<float> opt;
    use_keras_numerics(keras_numerics(KerasVersion::tf2), net, opt);
    CHECK(bn_settings(net) == S{{0.99f, false}, {0.99f, false}});
    CHECK(opt.epsilon_placement == RMSpropEpsilon::inside);
    use_keras_numerics(keras_numerics(KerasVersion::keras2_1), net, opt);
    CHECK(bn_settings(net) == S{{0.99f, true}, {0.99f, true}});
    CHECK(opt.epsilon_placement == RMSpropEpsilon::outside);
    CHECK(parse_keras_version("keras2.1") == KerasVersion::keras2_1);
    CHECK(to_string(KerasVersion::keras2_1) == "keras2.1");
    CHECK_THROWS_WITH_AS(parse_keras_version("tf1"), "layerwise: unknown numerics 'tf1' (expected tf2 or keras2.1)",
                         std::invalid_argument);
}

// Three steps of Opt on a Dense<128, 128> (16384 weights: split into bands with 2 threads)
// with fixed, made-up gradients; returns the weights.
template <class Opt>
Matrix<float> weights_after_steps() {
    Dense<128, 128> layer;
    init(layer, 3);
    Opt opt;
    for (std::uint64_t step = 0; step < 3; ++step) {
        layer.dW = layerwise::testing::random_matrix<float>(128, 128, 40 + step);
        layer.db.fill(0.01f * float(step));
        opt.step(layer);
    }
    return layer.W;
}

TEST_CASE("optimizer steps give the same bits on one thread and on two (bands of one parameter)") {
    static_assert(128 * 128 >= 2 * elementwise_grain);
    const Matrix<float> r1 = weights_after_steps<RMSprop<float>>(), a1 = weights_after_steps<Adam<float>>(),
                        s1 = weights_after_steps<SGD<float>>(), w1 = weights_after_steps<AdamW<float>>();
    set_threads(2);
    const Matrix<float> r2 = weights_after_steps<RMSprop<float>>(), a2 = weights_after_steps<Adam<float>>(),
                        s2 = weights_after_steps<SGD<float>>(), w2 = weights_after_steps<AdamW<float>>();
    set_threads(1);
    CHECK(r1 == r2);
    CHECK(a1 == a2);
    CHECK(s1 == s2);
    CHECK(w1 == w2);
    CHECK(r1 != a1);  // the steps did something
}

// Three steps of opt on a Dense<8, 8> with fixed, made-up gradients, the learning rate
// changed before each (as fit's schedules do); returns the weights and biases.
template <class Opt>
std::pair<Matrix<double>, Vector<double>> after_three_steps(Opt opt) {
    Dense<8, 8, double> layer;
    init(layer, 5);
    for (std::uint64_t step = 0; step < 3; ++step) {
        layer.dW = layerwise::testing::random_matrix<double>(8, 8, 60 + step);
        layer.db.fill(0.1 * double(step + 1));
        opt.learning_rate = 0.01 / double(step + 1);
        opt.step(layer);
    }
    return {layer.W, layer.b};
}

TEST_CASE("AnyOptimizer gives the bits of the optimizer it holds, settings and learning rate included") {
    SGD<double> nesterov(0.1, 0.9, true);
    nesterov.weight_decay = 1e-3;
    RMSprop<double> rmsprop(1e-3, RMSpropEpsilon::outside);
    Adam<double> adam;
    adam.beta1 = 0.8;
    const AdamW<double> adamw(1e-3, 0.1);
    CHECK(after_three_steps(AnyOptimizer<double>(nesterov)) == after_three_steps(nesterov));
    CHECK(after_three_steps(AnyOptimizer<double>(rmsprop)) == after_three_steps(rmsprop));
    CHECK(after_three_steps(AnyOptimizer<double>(adam)) == after_three_steps(adam));
    CHECK(after_three_steps(AnyOptimizer<double>(adamw)) == after_three_steps(adamw));
    CHECK(after_three_steps(adam) != after_three_steps(adamw));  // the comparisons can tell optimizers apart

    AnyOptimizer<double> any = adam;
    CHECK(any.name == "Adam");
    CHECK(any.learning_rate == adam.learning_rate);
    REQUIRE(any.get<Adam<double>>() != nullptr);
    CHECK(any.get<Adam<double>>()->beta1 == 0.8);
    CHECK(any.get<SGD<double>>() == nullptr);
}
