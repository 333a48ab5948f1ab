// Fused pairs (compose/fusion.hpp, batch_norm_relu.hpp), the unfused twin (compose/unfused.hpp)
// and freezing for inference (deploy/freeze.hpp). Fusion is decided by the type: the fused
// network computes its unfused twin's numbers bit for bit, a user's own pair can opt in, and
// every layer's output() is the one its own last forward formed. Freezing folds each
// BatchNorm into the Dense before it once, into a network of its own type.
#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

using namespace layerwise;
using layerwise::testing::random_matrix;

namespace {

template <class Net>
std::vector<std::vector<typename Net::scalar_type>> all_parameters(Net& net) {
    std::vector<std::vector<typename Net::scalar_type>> out;  // every parameter, moving statistics included
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
        out.emplace_back(value.data(), value.data() + value.size());
    });
    return out;
}

// Init, then a few RMSprop steps in train mode: moving statistics, gammas, betas and the
// biases before each BatchNorm all move away from their initial values.
template <class Net>
std::unique_ptr<Net> trained(std::uint64_t seed, std::size_t steps = 5) {
    using T = typename Net::scalar_type;
    auto net = std::make_unique<Net>();
    init(*net, seed);
    for_each_layer(*net, [](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.momentum; }) layer.momentum = T(0.5);  // moving statistics move fast
    });
    RMSprop<T> opt;
    opt.learning_rate = T(0.01);
    SoftmaxCrossEntropy<T> loss;
    const Matrix<T> x = random_matrix<T>(32, Net::in_features, seed + 1, 0, 1);
    std::vector<int> labels(32);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int((i * 7 + seed) % Net::out_features);
    for (std::size_t s = 0; s < steps; ++s) {
        loss.forward(net->forward(x, Mode::train), labels);
        net->backward(loss.backward());
        opt.step(*net);
    }
    return net;
}

// The largest |a - b| over the largest |b|: 0 for equal matrices, float rounding for a fold.
template <class T>
double relative_difference(const Matrix<T>& a, const Matrix<T>& b) {
    REQUIRE(a.shape(0) == b.shape(0));
    REQUIRE(a.shape(1) == b.shape(1));
    double diff = 0, scale = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        diff = std::max(diff, std::abs(double(a.data()[k]) - double(b.data()[k])));
        scale = std::max(scale, std::abs(double(b.data()[k])));
    }
    return diff / scale;
}

// A user's own pair: y = s x (Gain) then y = x + c (Shift), and their fused form, which
// counts its forwards so that the test can see Sequential chose it.
template <std::size_t N, class T = double>
struct Gain {
    using scalar_type = T;
    template <class U>
    using rebind = Gain<N, U>;
    static constexpr std::size_t in_features = N, out_features = N, parameter_count = N;
    Vector<T> s = zeros<T>(N), ds = zeros<T>(N);  // s, ds: (N)
    const Matrix<T>* x_ = nullptr;
    Matrix<T> y_, dx_;
    const Matrix<T>& forward(const Matrix<T>& x, Mode) {
        x_ = &x;
        ensure_shape(y_, x.shape(0), N);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) y_(i, j) = s(j) * x(i, j);  // y = s x
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)
    const Matrix<T>& backward(const Matrix<T>& dy) {
        ensure_shape(dx_, dy.shape(0), N);
        ds.fill(T(0));
        for (std::size_t i = 0; i < dy.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) {
                ds(j) += dy(i, j) * (*x_)(i, j);  // ds = sum_i dy x
                dx_(i, j) = dy(i, j) * s(j);      // dx = dy s
            }
        return dx_;
    }
    template <class F>
    void visit_parameters(F&& f) { f("s", s, ds, true, Initializer::ones); }
};

template <std::size_t N, class T = double>
struct Shift {
    using scalar_type = T;
    template <class U>
    using rebind = Shift<N, U>;
    static constexpr std::size_t in_features = N, out_features = N, parameter_count = N;
    Vector<T> c = zeros<T>(N), dc = zeros<T>(N);  // c, dc: (N)
    Matrix<T> y_, dx_;
    const Matrix<T>& forward(const Matrix<T>& x, Mode) {
        ensure_shape(y_, x.shape(0), N);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) y_(i, j) = x(i, j) + c(j);  // y = x + c
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)
    const Matrix<T>& backward(const Matrix<T>& dy) {
        dc.fill(T(0));
        for (std::size_t i = 0; i < dy.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) dc(j) += dy(i, j);  // dc = sum_i dy
        dx_ = dy;                                                   // dx = dy
        return dx_;
    }
    template <class F>
    void visit_parameters(F&& f) { f("c", c, dc, true, Initializer::zeros); }
};

inline int gain_shift_forwards = 0;

template <std::size_t N, class T = double>
struct GainShift {  // y = s x + c in one pass
    using scalar_type = T;
    template <class U>
    using rebind = GainShift<N, U>;
    static constexpr std::size_t in_features = N, out_features = N, parameter_count = 2 * N;
    Gain<N, T> first;
    Shift<N, T> second;
    const Matrix<T>* x_ = nullptr;
    Matrix<T> y_, dx_;
    const Matrix<T>& forward(const Matrix<T>& x, Mode) {
        ++gain_shift_forwards;
        x_ = &x;
        ensure_shape(y_, x.shape(0), N);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) y_(i, j) = first.s(j) * x(i, j) + second.c(j);  // y = s x + c
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)
    const Matrix<T>& backward(const Matrix<T>& dy) {
        ensure_shape(dx_, dy.shape(0), N);
        first.ds.fill(T(0));
        second.dc.fill(T(0));
        for (std::size_t i = 0; i < dy.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) {
                second.dc(j) += dy(i, j);                  // dc = sum_i dy
                first.ds(j) += dy(i, j) * (*x_)(i, j);     // ds = sum_i dy x
                dx_(i, j) = dy(i, j) * first.s(j);         // dx = dy s
            }
        return dx_;
    }
    template <class F>
    void visit_children(F&& f) {
        f(first);
        f(second);
    }
};

}  // namespace

template <std::size_t N, class T>
struct layerwise::fusion<Gain<N, T>, Shift<N, T>> {
    using type = GainShift<N, T>;
};

TEST_CASE("Sequential stores a BatchNorm followed by a ReLU as one BatchNormReLU, decided by the type") {
    using Net = Sequential<Dense<5, 4>, BatchNorm<4>, ReLU, Dense<4, 3>, ReLU, BatchNorm<3>>;
    static_assert(Net::size == 5 && Net::declared_size == 6);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<Net&>().layer<1>())>, BatchNormReLU<4>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<Net&>().layer<4>())>, BatchNorm<3>>);
    using Twin = unfused_t<Net>;
    static_assert(Twin::size == 6);
    static_assert(std::is_same_v<Twin, UnfusedSequential<Dense<5, 4>, BatchNorm<4>, ReLU, Dense<4, 3>, ReLU, BatchNorm<3>>>);
    Net net;
    CHECK(&net.layer_as_declared<1>() == &net.layer<1>().first);  // the declared BatchNorm is the pair's first
    CHECK(&net.layer_as_declared<3>() == &net.layer<2>());
    std::vector<std::string> names;  // the parameters keep the names of the layers as written
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"dense/kernel", "dense/bias", "batch_normalization/gamma",
                                            "batch_normalization/beta", "batch_normalization/moving_mean",
                                            "batch_normalization/moving_variance", "dense_1/kernel", "dense_1/bias",
                                            "batch_normalization_1/gamma", "batch_normalization_1/beta",
                                            "batch_normalization_1/moving_mean",
                                            "batch_normalization_1/moving_variance"});
}

TEST_CASE_TEMPLATE("the fused network computes its unfused twin's numbers bit for bit", Net, seed::BnMlp<5>,
                   seed::SkipMlp<5>) {
    auto fused = std::make_unique<Net>();
    auto plain = std::make_unique<unfused_t<Net>>();
    init(*fused, 21);
    copy_parameters(*fused, *plain);
    RMSprop<float> opt_fused, opt_plain;
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> x = random_matrix<float>(16, 784, 22, 0, 1);
    std::vector<int> labels(16);
    for (std::size_t i = 0; i < 16; ++i) labels[i] = int(i % 10);
    for (int step = 0; step < 3; ++step) {
        const Matrix<float> y = fused->forward(x, Mode::train);
        loss.forward(y, labels);
        const Matrix<float> dx = fused->backward(loss.backward());
        opt_fused.step(*fused);
        const Matrix<float> y_plain = plain->forward(x, Mode::train);
        CHECK(y_plain == y);
        loss.forward(y_plain, labels);
        CHECK(plain->backward(loss.backward()) == dx);
        opt_plain.step(*plain);
    }
    CHECK(all_parameters(*fused) == all_parameters(*plain));
    const Matrix<float> inference = fused->forward(x, Mode::inference);
    CHECK(plain->forward(x, Mode::inference) == inference);
}

TEST_CASE("fit trains a fused network and its unfused twin to the same bits") {
    const Matrix<float> x = random_matrix<float>(300, 784, 31, 0, 1), vx = random_matrix<float>(50, 784, 32, 0, 1);
    std::vector<int> y(300), vy(50);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = int((i * 3) % 10);
    for (std::size_t i = 0; i < vy.size(); ++i) vy[i] = int((i * 7) % 10);
    auto fused = std::make_unique<seed::BnMlp<4>>();
    auto plain = std::make_unique<unfused_t<seed::BnMlp<4>>>();
    init(*fused, 33);
    init(*plain, 33);
    auto train = [&](auto& net) {
        RMSprop<float> opt;
        FitOptions o;
        o.epochs = 2;
        o.batch_size = 32;
        o.verbosity = Verbosity::quiet;
        return fit(net, opt, {x, y}, {vx, vy}, o);
    };
    const History a = train(*fused), b = train(*plain);
    REQUIRE(a.epochs.size() == 2);
    REQUIRE(b.epochs.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(a.epochs[e].loss == b.epochs[e].loss);
        CHECK(a.epochs[e].accuracy == b.epochs[e].accuracy);
        CHECK(a.epochs[e].val_loss == b.epochs[e].val_loss);
        CHECK(a.epochs[e].val_accuracy == b.epochs[e].val_accuracy);
    }
    CHECK(all_parameters(*fused) == all_parameters(*plain));
}

TEST_CASE("BatchNormReLU passes the gradient check in train and inference mode, and its outputs are its own") {
    using Net = Sequential<Dense<5, 4>, BatchNorm<4>, ReLU, Dense<4, 3>, BatchNorm<3>, ReLU>::rebind<double>;
    Net net;
    init(net, 41);
    net.layer<1>().first.moving_mean.fill(0.3);
    net.layer<1>().first.moving_variance.fill(2.0);
    const Matrix<double> x = random_matrix(8, 5, 42);
    layerwise::testing::require_gradients(net, x, Mode::train);
    layerwise::testing::require_gradients(net, x, Mode::inference);
    const Matrix<double> y = net.forward(x, Mode::train);
    CHECK(net.layer<3>().output() == y);  // the pair's output is the ReLU's
    const Matrix<double> dy = random_matrix(8, 3, 43);
    net.backward(dy);
    CHECK(net.layer<3>().input_gradient().shape(0) == 8);
    // The twin's BatchNorm and ReLU each hold their own, and agree with the pair's.
    unfused_t<Net> twin;
    copy_parameters(net, twin);
    CHECK(twin.forward(x, Mode::train) == y);
    twin.backward(dy);
    CHECK(twin.layer<5>().output() == y);
    CHECK(twin.layer<4>().input_gradient() == net.layer<3>().input_gradient());
    CHECK(twin.layer<4>().output().shape(0) == 8);
    // In the fused network the pair's BatchNorm and ReLU never ran a forward of their own.
    CHECK(net.layer<3>().first.output().size() == 0);
    CHECK(net.layer<3>().second.input_gradient().size() == 0);
}

TEST_CASE("a user's own pair opts into fusion with the fusion trait") {
    using Net = Sequential<Dense<3, 4, double>, Gain<4>, Shift<4>, Dense<4, 2, double>>;
    static_assert(Net::size == 3);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<Net&>().layer<1>())>, GainShift<4>>);
    Net net;
    init(net, 51);
    net.layer<1>().second.c(2) = 0.25;
    unfused_t<Net> twin;
    copy_parameters(net, twin);
    const Matrix<double> x = random_matrix(6, 3, 52);
    gain_shift_forwards = 0;
    const Matrix<double> y = net.forward(x, Mode::train);
    CHECK(gain_shift_forwards == 1);  // the fused form ran
    CHECK(relative_difference(twin.forward(x, Mode::train), y) < 1e-15);
    CHECK(gain_shift_forwards == 1);  // the twin runs Gain and Shift on their own
    layerwise::testing::require_gradients(net, x, Mode::train);
    std::vector<std::string> names;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"dense/kernel", "dense/bias", "layer/s", "layer_1/c", "dense_1/kernel",
                                            "dense_1/bias"});
}

TEST_CASE("copy_parameters refuses networks with other parameters, before copying anything") {
    Sequential<Dense<3, 4>, Dense<4, 2>> a;
    Sequential<Dense<3, 4>, Dense<4, 3>> b;
    init(a, 1);
    const auto before = all_parameters(b);
    CHECK_THROWS_WITH_AS(copy_parameters(a, b),
                         "layerwise: copy_parameters: the networks differ: dense_1/kernel (8 values) against "
                         "dense_1/kernel (12)",
                         std::invalid_argument);
    CHECK(all_parameters(b) == before);
}

TEST_CASE_TEMPLATE("freeze folds each BatchNorm into the Dense before it, into a network of its own type", Net,
                   seed::BnMlp<5>, seed::SkipMlp<5>) {
    auto net = trained<Net>(61);
    using Frozen = frozen_t<Net>;
    static_assert(Frozen::parameter_count < Net::parameter_count);
    std::size_t batch_norms = 0;
    auto frozen = std::make_unique<Frozen>(freeze(*net));
    for_each_layer(*frozen, [&](auto& layer, const LayerInfo&) {
        batch_norms += requires { layer.moving_mean; };
    });
    CHECK(batch_norms == 0);
    const Matrix<float> x = random_matrix<float>(37, 784, 62, 0, 1);
    for (std::size_t rows : {std::size_t(1), std::size_t(3), std::size_t(37)}) {
        const MatrixView<float> xs = MatrixView<float>(x).row_range(0, rows);
        CHECK(relative_difference(outputs(*frozen, xs), outputs(*net, xs)) < 1e-5);
    }
    // Its own copy: training the original further leaves the frozen network as it was.
    const Matrix<float> before = outputs(*frozen, x);
    net->template layer<0>().W.fill(0.5f);
    CHECK(outputs(*frozen, x) == before);
}

TEST_CASE("freeze in double agrees with the unfrozen network to rounding, and keeps BatchNorms not after a Dense") {
    using Net = Sequential<BatchNorm<5>, Dense<5, 4>, BatchNorm<4>, ReLU, Residual<Dense<4, 4>, BatchNorm<4>>,
                           Dense<4, 3>>::rebind<double>;
    using Frozen = frozen_t<Net>;
    static_assert(std::is_same_v<Frozen, Sequential<BatchNorm<5>, Dense<5, 4>, ReLU, Residual<Dense<4, 4>>,
                                                    Dense<4, 3>>::rebind<double>>);
    auto net = trained<Net>(71);
    auto frozen = std::make_unique<Frozen>(freeze(*net));
    const Matrix<double> x = random_matrix(9, 5, 72);
    CHECK(relative_difference(outputs(*frozen, x), outputs(*net, x)) < 1e-13);
    CHECK(predict(*frozen, x) == predict(*net, x));
}
