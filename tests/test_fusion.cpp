// The pairs Sequential runs as one pass (compose/fusion.hpp). Training, BatchNorm then ReLU:
// the unfused numbers bit for bit, and gradients that check. Inference, BatchNorm folded into
// the Dense before it: the same answers to float rounding, a cache that is never stale. And
// clear errors where a fused forward has nothing to give.
#include "testing.hpp"

#include <layerwise/io/npz.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>

using namespace layerwise;
using layerwise::testing::random_matrix;
using layerwise::testing::TempDir;

namespace {

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
    RMSprop<T> opt(T(0.01));
    SoftmaxCrossEntropy<T> loss;
    const Matrix<T> x = random_matrix<T>(32, Net::in_features, seed + 1, 0, 1);
    std::vector<int> labels(32);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int((i * 7 + seed) % 10);
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

template <class Net>
Matrix<typename Net::scalar_type> unfolded(Net& net, const Matrix<typename Net::scalar_type>& x) {
    NoFusion off;
    return net.forward(x, Mode::inference);
}

template <class Net>
Matrix<typename Net::scalar_type> folded(Net& net, const Matrix<typename Net::scalar_type>& x) {
    return net.forward(x, Mode::inference);
}

}  // namespace

TEST_CASE_TEMPLATE("folded inference gives the layer-by-layer answers to float rounding", Net, seed::BnMlp<6>,
                   seed::SkipMlp<6>, seed::BnMlp<6>::rebind<double>, seed::SkipMlp<6>::rebind<double>) {
    using T = typename Net::scalar_type;
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    auto net = trained<Net>(3);
    for (std::size_t batch : {std::size_t(1), 2ul, 3ul, 4ul, 5ul, 17ul, 128ul}) {  // the few-row kernel and the GEMM
        CAPTURE(batch);
        const Matrix<T> x = random_matrix<T>(batch, 784, 40 + batch, 0, 1);
        const Matrix<T> plain = unfolded(*net, x);
        const Matrix<T> fast = folded(*net, x);
        CHECK(relative_difference(fast, plain) < tolerance);
        CHECK(relative_difference(fast, plain) > 0);  // (the fold really ran: it rounds differently)
    }
    CHECK(net->template fold<0>().refreshes() == 1);  // computed once, reused for every batch
}

TEST_CASE("the few-row kernel and BLAS agree, and a row's answer does not depend on its batch") {
    auto net = trained<seed::PlainMlp<4>>(4);  // no BatchNorm: Dense's own forward
    const Matrix<float> x = random_matrix<float>(9, 784, 5, 0, 1);
    const Matrix<float> all = net->forward(x, Mode::inference);  // 9 rows: BLAS
    for (std::size_t rows = 1; rows <= few_rows_max; ++rows) {
        const Matrix<float> some = net->forward(MatrixView<float>(x).row_range(0, rows), Mode::inference);
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t k = 0; k < 10; ++k) CHECK(some(i, k) == doctest::Approx(all(i, k)).epsilon(1e-5));
    }
}

TEST_CASE("the fold's cache is recomputed after every change to what it folds, and only then") {
    auto net = trained<seed::BnMlp<3>>(6);  // Dense BatchNorm ReLU, Repeat<1, Dense BatchNorm ReLU>, Dense
    const auto& fold = net->fold<0>();
    const Matrix<float> x = random_matrix<float>(3, 784, 7, 0, 1);
    const Matrix<float> x_big = random_matrix<float>(16, 784, 8, 0, 1);
    auto agrees = [&] {
        const bool small = relative_difference(folded(*net, x), unfolded(*net, x)) < 1e-5;
        const bool big = relative_difference(folded(*net, x_big), unfolded(*net, x_big)) < 1e-5;
        return small && big;
    };
    REQUIRE(agrees());
    const std::size_t start = fold.refreshes();
    CHECK(agrees());
    CHECK(fold.refreshes() == start);  // nothing changed: nothing recomputed

    SUBCASE("an optimizer step") {
        {  // gradients without moving the moving statistics, then a step
            BatchNorm<128>& bn = net->layer<1>();
            bn.track_moving_statistics = false;
            SoftmaxCrossEntropy<float> loss;
            const std::vector<int> labels(16, 3);
            loss.forward(net->forward(x_big, Mode::train), labels);
            net->backward(loss.backward());
            bn.track_moving_statistics = true;
        }
        const Vector<float> mean_before = net->layer<1>().moving_mean;
        RMSprop<float> opt(0.01f);
        opt.step(*net);
        CHECK(net->layer<1>().moving_mean == mean_before);
        CHECK(agrees());
        CHECK(fold.refreshes() == start + 1);
    }
    SUBCASE("a train-mode forward (the moving statistics move)") {
        net->forward(x_big, Mode::train);
        CHECK(agrees());
        CHECK(fold.refreshes() == start + 1);
    }
    SUBCASE("load_npz") {
        TempDir dir("fusion");
        auto other = trained<seed::BnMlp<3>>(9);
        io::save_npz(*other, dir.path / "other.npz");
        io::load_npz(*net, dir.path / "other.npz");
        CHECK(agrees());
        CHECK(fold.refreshes() == start + 1);
        CHECK(folded(*net, x) == folded(*other, x));  // the loaded network answers as the saved one
    }
    SUBCASE("a user's own write to each of the five vectors") {
        auto& dense = net->layer<0>();
        auto& bn = net->layer<1>();
        for (Vector<float>* v : {&dense.b, &bn.gamma, &bn.beta, &bn.moving_mean, &bn.moving_variance}) {
            const std::size_t before = fold.refreshes();
            (*v)(5) += 0.25f;
            CHECK(agrees());
            CHECK(fold.refreshes() == before + 1);
        }
    }
    SUBCASE("init") {
        init(*net, 11);
        CHECK(agrees());
        CHECK(fold.refreshes() == start + 1);
    }
}

TEST_CASE("after a folded forward, what it did not form is an error, not an older batch's numbers") {
    auto net = trained<seed::BnMlp<3>>(12);
    const Matrix<float> x = random_matrix<float>(4, 784, 13, 0, 1);
    net->forward(x, Mode::inference);
    CHECK_THROWS_WITH_AS(net->backward(zeros<float>(4, 10)),
                         "layerwise: BatchNorm: backward after an inference forward that folded this layer into the "
                         "Dense before it, so its input, which the gradients need, was never formed; run that "
                         "forward inside a layerwise::NoFusion scope",
                         std::logic_error);
    CHECK_THROWS_WITH_AS(net->layer<0>().output(),
                         "layerwise: Dense: output() after an inference forward that folded the BatchNorm after it "
                         "into this layer, so no output of its own was formed; run that forward inside a "
                         "layerwise::NoFusion scope",
                         std::logic_error);
    CHECK(net->layer<1>().output().shape(0) == 4);  // the pair's output is the BatchNorm's
    {
        NoFusion off;  // the same forward unfolded: its backward works
        net->forward(x, Mode::inference);
        CHECK(net->backward(zeros<float>(4, 10)).shape(0) == 4);
        CHECK(net->layer<0>().output().shape(0) == 4);
    }
    CHECK(fusion_enabled());  // the scope ended, folding is back
    net->forward(x, Mode::train);  // a train forward forms everything again
    CHECK(net->layer<0>().output().shape(0) == 4);
    CHECK(net->backward(zeros<float>(4, 10)).shape(0) == 4);
}

TEST_CASE("inference gradients of Dense+BatchNorm pairs still check (check_gradients unfolds)") {
    using Pair = Sequential<Dense<5, 4>, BatchNorm<4>, ReLU, Residual<Dense<4, 4>, BatchNorm<4>>>::rebind<double>;
    Pair pair;
    init(pair, 15);
    pair.layer<1>().moving_mean.fill(0.3);
    pair.layer<1>().moving_variance.fill(2.0);
    layerwise::testing::require_gradients(pair, random_matrix(6, 5, 16), Mode::inference);
    CHECK(fusion_enabled());
}

TEST_CASE_TEMPLATE("fused training (BatchNorm then ReLU) computes the unfused numbers bit for bit", Net,
                   seed::BnMlp<5>, seed::SkipMlp<5>) {
    auto fused = std::make_unique<Net>(), plain = std::make_unique<Net>();
    init(*fused, 21);
    init(*plain, 21);
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
        NoFusion off;
        const Matrix<float> y_plain = plain->forward(x, Mode::train);
        CHECK(y_plain == y);
        loss.forward(y_plain, labels);
        CHECK(plain->backward(loss.backward()) == dx);
        opt_plain.step(*plain);
    }
    std::vector<std::vector<float>> a, b;  // every parameter, moving statistics included
    auto collect = [](auto& net, std::vector<std::vector<float>>& out) {
        for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
            out.emplace_back(value.data(), value.data() + value.size());
        });
    };
    collect(*fused, a);
    collect(*plain, b);
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == b[k]);
}

TEST_CASE("fit with and without fusion trains the same network to the bit") {
    const Matrix<float> x = random_matrix<float>(300, 784, 31, 0, 1), vx = random_matrix<float>(50, 784, 32, 0, 1);
    std::vector<int> y(300), vy(50);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = int((i * 3) % 10);
    for (std::size_t i = 0; i < vy.size(); ++i) vy[i] = int((i * 7) % 10);
    auto fused = std::make_unique<seed::BnMlp<4>>(), plain = std::make_unique<seed::BnMlp<4>>();
    auto train = [&](seed::BnMlp<4>& net, bool fusion) {
        init(net, 33);
        RMSprop<float> opt;
        FitOptions o;
        o.epochs = 2;
        o.batch_size = 32;
        o.verbosity = Verbosity::quiet;
        o.fusion = fusion;
        return fit(net, opt, {x, y}, {vx, vy}, o);
    };
    const History a = train(*fused, true), b = train(*plain, false);
    REQUIRE(a.epochs.size() == 2);
    REQUIRE(b.epochs.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(a.epochs[e].loss == b.epochs[e].loss);  // training: fused BatchNorm+ReLU, the same bits
        CHECK(a.epochs[e].accuracy == b.epochs[e].accuracy);
        // validation: folded inference against unfolded, the same to float rounding
        CHECK(a.epochs[e].val_loss == doctest::Approx(b.epochs[e].val_loss).epsilon(1e-5));
    }
    std::vector<float> pa, pb;
    for_each_parameter(*fused, [&](const ParameterInfo&, auto& v, auto&) { pa.insert(pa.end(), v.begin(), v.end()); });
    for_each_parameter(*plain, [&](const ParameterInfo&, auto& v, auto&) { pb.insert(pb.end(), v.begin(), v.end()); });
    CHECK(pa == pb);
}

TEST_CASE("fused BatchNorm then ReLU passes the gradient check in train mode") {
    using Net = Sequential<Dense<5, 4>, BatchNorm<4>, ReLU, Dense<4, 3>, BatchNorm<3>, ReLU>::rebind<double>;
    Net net;
    init(net, 41);
    REQUIRE(fusion_enabled());
    layerwise::testing::require_gradients(net, random_matrix(8, 5, 42), Mode::train);
    CHECK_THROWS_WITH_AS(net.layer<1>().output(),
                         "layerwise: BatchNorm: output() after a train forward fused with the ReLU after it, so no "
                         "output of its own was formed; run that forward inside a layerwise::NoFusion scope",
                         std::logic_error);
    CHECK_THROWS_WITH_AS(net.layer<2>().input_gradient(),
                         "layerwise: relu: input_gradient() after a forward fused with the layer before it, whose "
                         "backward formed no gradient of this layer's own; run it inside a layerwise::NoFusion scope",
                         std::logic_error);
    NoFusion off;
    layerwise::testing::require_gradients(net, random_matrix(8, 5, 42), Mode::train);
    CHECK(net.layer<1>().output().shape(0) == 8);
    CHECK(net.layer<2>().input_gradient().shape(0) == 8);
}
