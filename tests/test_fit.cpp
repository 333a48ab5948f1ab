#include "blobs.hpp"
#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/optim/sgd.hpp>
#include <layerwise/train/fit.hpp>

#include <cmath>
#include <memory>
#include <limits>
#include <sstream>

using namespace layerwise;
using layerwise::testing::TempDir;

namespace {
using layerwise::testing::Blobs;  // tests/blobs.hpp

using Net = Sequential<Dense<6, 16>, BatchNorm<16>, ReLU, Dense<16, 3>>;

// Every parameter's values (moving statistics included), in visiting order.
template <class N>
std::vector<std::vector<float>> parameters_of(N& net) {
    std::vector<std::vector<float>> out;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { out.emplace_back(value.begin(), value.end()); });
    return out;
}

FitOptions quiet(std::size_t epochs, std::size_t batch, std::uint64_t seed) {
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = batch;
    o.seed = seed;
    o.verbosity = Verbosity::quiet;
    return o;
}
}  // namespace

TEST_CASE("fit learns an easy problem and reports Keras-like history") {
    const Blobs train(300, 1), val(90, 2);
    Net net;
    init(net, 3);
    RMSprop<float> opt(1e-2f);
    const History h = fit(net, opt, train.samples(), val.samples(), quiet(5, 32, 4));
    REQUIRE(h.epochs.size() == 5);
    CHECK_FALSE(h.divergence);
    CHECK(h.epochs[0].epoch == 1);
    CHECK(h.epochs.back().loss < h.epochs.front().loss);
    CHECK(h.epochs.back().val_accuracy > 0.95);
    CHECK(h.epochs.back().seconds >= 0);
    const Evaluation e = evaluate(net, val.samples(), 7);
    CHECK(e.accuracy == doctest::Approx(h.epochs.back().val_accuracy));
    CHECK(e.loss == doctest::Approx(h.epochs.back().val_loss).epsilon(1e-5));
}

TEST_CASE("same seed, data and threads give a bit-identical history and network") {
    const Blobs train(250, 5), val(50, 6);
    auto run = [&](std::uint64_t seed, Net& net) {
        init(net, seed);
        RMSprop<float> opt;
        return fit(net, opt, train.samples(), val.samples(), quiet(3, 64, seed));
    };
    Net a, b, c;
    const History ha = run(9, a), hb = run(9, b), hc = run(10, c);
    CHECK(ha.csv().substr(0, 40) == hb.csv().substr(0, 40));
    for (std::size_t e = 0; e < 3; ++e) {
        CHECK(ha.epochs[e].loss == hb.epochs[e].loss);  // exact, not approximate
        CHECK(ha.epochs[e].val_loss == hb.epochs[e].val_loss);
        CHECK(ha.epochs[e].accuracy == hb.epochs[e].accuracy);
    }
    CHECK(parameters_of(a) == parameters_of(b));  // weights and BatchNorm's moving statistics
    CHECK(ha.epochs[2].loss != hc.epochs[2].loss);
}

TEST_CASE("the last partial batch is kept and every step is reported") {
    const Blobs train(10, 7), val(5, 8);
    Net net;
    init(net, 1);
    SGD<float> opt;
    std::vector<std::size_t> steps;
    std::size_t epochs_seen = 0;
    FitDiagnostics d;
    d.on_step = [&](std::size_t, std::size_t step, std::size_t global) {
        steps.push_back(step);
        CHECK(global == steps.size());
    };
    d.on_epoch_end = [&](const EpochRecord& r) { epochs_seen = r.epoch; };
    fit(net, opt, train.samples(), val.samples(), quiet(2, 4, 1), d);
    CHECK(steps == std::vector<std::size_t>{1, 2, 3, 1, 2, 3});  // 4 + 4 + 2 samples
    CHECK(epochs_seen == 2);
}

TEST_CASE("diagnostics measure beside training and change none of its numbers") {
    const Blobs train(120, 13), val(30, 14);
    auto run = [&](const FitDiagnostics& d, Net& net) {
        init(net, 2);
        RMSprop<float> opt;
        return fit(net, opt, train.samples(), val.samples(), quiet(2, 32, 5), d);
    };
    FitDiagnostics all;
    all.input_gradient = true;
    all.inference_train_samples = 50;
    std::size_t calls = 0;
    all.on_step = [&](std::size_t, std::size_t, std::size_t) { ++calls; };
    Net a, b;
    const History plain = run({}, a), measured = run(all, b);
    CHECK(calls == 2 * 4);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(plain.epochs[e].loss == measured.epochs[e].loss);
        CHECK(plain.epochs[e].val_loss == measured.epochs[e].val_loss);
        CHECK(std::isnan(plain.epochs[e].train_loss_inference));
        CHECK(std::isfinite(measured.epochs[e].train_loss_inference));
    }
    CHECK(parameters_of(a) == parameters_of(b));
}

TEST_CASE("a diverging run stops cleanly, says where, and writes no NaN as a number") {
    const Blobs train(64, 9), val(16, 10);
    Sequential<Dense<6, 32>, ReLU, Dense<32, 32>, ReLU, Dense<32, 3>> net;  // no BatchNorm to save it
    init(net, 1);
    SGD<float> opt(1e30f);  // the first step sends the weights past float's range
    std::ostringstream log;
    FitOptions o = quiet(5, 16, 1);
    o.verbosity = Verbosity::plain;
    o.out = &log;
    const History h = fit(net, opt, train.samples(), val.samples(), o);
    REQUIRE(h.divergence);
    CHECK(h.divergence->epoch >= 1);
    CHECK(h.divergence->step >= 1);
    CHECK(log.str().find("Training stopped: diverged in epoch") != std::string::npos);
    const std::string csv = h.csv();
    INFO(csv);
    // Every numeric field is a finite number or empty; the status says what happened.
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string field;
        for (int k = 0; k < 6 && std::getline(fields, field, ','); ++k)
            if (!field.empty()) CHECK(std::isfinite(std::stod(field)));
    }
    CHECK(csv.find(",,,,,,diverged at step ") != std::string::npos);
    CHECK((csv.find("loss is NaN") != std::string::npos || csv.find("not finite") != std::string::npos ||
           csv.find("loss is infinite") != std::string::npos));
}

namespace {
// The identity, with a bias-like parameter p whose gradient is sum_i dy_i, except on the
// poison_at-th backward, where it is NaN: a gradient that goes bad while the loss is finite.
template <std::size_t N, class T = float>
class PoisonedGradient {
public:
    using scalar_type = T;
    template <class U>
    using rebind = PoisonedGradient<N, U>;
    static constexpr std::size_t in_features = N;
    static constexpr std::size_t out_features = N;
    static constexpr std::size_t parameter_count = N;
    static constexpr std::string_view name = "poisoned";
    static constexpr std::string_view keras_name = "poisoned";
    static constexpr std::string_view keras_class = "PoisonedGradient";

    Vector<T> p = zeros<T>(N);   // p: (N), unused by forward
    Vector<T> dp = zeros<T>(N);  // dp: (N)
    std::size_t poison_at = 0, calls = 0;

    const Matrix<T>& forward(const Matrix<T>& x, Mode) {
        y_ = x;  // y = x
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)
    const Matrix<T>& backward(const Matrix<T>& dy) {
        dp.fill(T(0));
        for (std::size_t i = 0; i < dy.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) dp(j) += dy(i, j);
        if (++calls == poison_at) dp(1) = std::numeric_limits<T>::quiet_NaN();
        dx_ = dy;  // dx = dy
        return dx_;
    }
    template <class F>
    void visit_parameters(F&& f) {
        f("p", p, dp, true, Initializer::zeros);
    }

private:
    Matrix<T> y_, dx_;
};

// SGD that keeps a copy of every parameter after each of its steps.
struct RecordingSGD {
    SGD<float> sgd{0.1f};
    std::size_t steps = 0;
    std::vector<std::vector<float>> after_last_step;
    template <class N>
    void step(N& net) {
        sgd.step(net);
        ++steps;
        after_last_step.clear();
        for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
            after_last_step.emplace_back(value.begin(), value.end());
        });
    }
};
}  // namespace

TEST_CASE("a gradient that is not finite stops fit before the step: the parameters are the last step's, bit for bit") {
    const Blobs train(64, 9), val(16, 10);
    Sequential<Dense<6, 3>, PoisonedGradient<3>> net;
    init(net, 1);
    net.layer<1>().poison_at = 3;  // the third step's gradient: steps 1 and 2 are taken, 3 is not
    RecordingSGD opt;
    const History h = fit(net, opt, train.samples(), val.samples(), quiet(2, 16, 1));
    REQUIRE(h.divergence);
    CHECK(h.divergence->epoch == 1);
    CHECK(h.divergence->step == 3);
    CHECK(h.divergence->what == "gradient of poisoned/p is not finite");
    CHECK(opt.steps == 2);
    std::vector<std::vector<float>> now;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { now.emplace_back(value.begin(), value.end()); });
    CHECK(now == opt.after_last_step);
}

TEST_CASE("first_nonfinite_gradient names the tensor") {
    Sequential<Dense<2, 2>, Dense<2, 1>> net;
    CHECK(first_nonfinite_gradient(net).empty());
    net.layer<1>().db(0) = std::numeric_limits<float>::infinity();
    CHECK(first_nonfinite_gradient(net) == "dense_1/bias");
}

TEST_CASE_TEMPLATE("the finite check finds one NaN or infinity at any position, in the packs and in the tail", T,
                   float, double) {
    const T bad_values[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                            -std::numeric_limits<T>::infinity()};
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(31), std::size_t(32),
                          std::size_t(33), std::size_t(70), std::size_t(1000)}) {
        // finite values of every kind: zeros of both signs, the largest, the smallest subnormal
        std::vector<T> v(n);
        for (std::size_t k = 0; k < n; ++k)
            v[k] = k % 4 == 0   ? T(-0.0)
                   : k % 4 == 1 ? std::numeric_limits<T>::max()
                   : k % 4 == 2 ? -std::numeric_limits<T>::denorm_min()
                                : T(k);
        CHECK(layerwise::detail::all_finite(v.data(), n));
        for (std::size_t k = 0; k < n; ++k)
            for (T bad : bad_values) {
                const T keep = v[k];
                v[k] = bad;
                CHECK_MESSAGE(!layerwise::detail::all_finite(v.data(), n), "n=" << n << " k=" << k << " " << bad);
                v[k] = keep;
            }
    }
}

TEST_CASE("plain progress prints one line per epoch") {
    const Blobs train(40, 11), val(10, 12);
    Net net;
    init(net, 1);
    RMSprop<float> opt;
    std::ostringstream log;
    FitOptions o = quiet(3, 16, 1);
    o.verbosity = Verbosity::plain;
    o.out = &log;
    fit(net, opt, train.samples(), val.samples(), o);
    const std::string s = log.str();
    CHECK(std::count(s.begin(), s.end(), '\n') == 3);
    CHECK(s.find("Epoch 3/3 - 3 steps - ") != std::string::npos);
    CHECK(s.find("val_accuracy: ") != std::string::npos);
}

TEST_CASE("history.csv is written atomically with the documented columns") {
    History h;
    h.epochs.push_back({1, 0.5, 0.8, 0.4, 0.85, 1.25});
    const TempDir dir("history");
    h.write_csv(dir / "history.csv");
    std::ifstream in(dir / "history.csv");
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    CHECK(header == "epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,train_loss_inference,"
                    "train_accuracy_inference,learning_rate");
    CHECK(row == "1,0.5,0.8,0.4,0.85,1.250,ok,,,");  // the inference-mode columns and the rate: not measured
    h.epochs[0].train_loss_inference = 0.25;
    h.epochs[0].train_accuracy_inference = 0.875;
    h.epochs[0].learning_rate = 0.001;
    CHECK(h.csv().find("\n1,0.5,0.8,0.4,0.85,1.250,ok,0.25,0.875,0.001\n") != std::string::npos);
    std::size_t files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
    CHECK(files == 1);  // no temporary left behind
}

TEST_CASE("with two threads, the same seed still gives a bit-identical history") {
    const Blobs train(600, 21), val(100, 22);
    auto run = [&] {
        // batch 128 x width 128 and the 64 x 128 kernel are big enough (elementwise_grain per
        // thread) for the element-wise passes, column sums and the optimizer to be shared too
        static_assert(128 * 64 >= 2 * elementwise_grain);
        auto net = std::make_unique<Sequential<Dense<6, 64>, BatchNorm<64>, ReLU, Dense<64, 128>, BatchNorm<128>, ReLU, Dense<128, 3>>>();
        init(*net, 4);
        RMSprop<float> opt;
        return fit(*net, opt, train.samples(), val.samples(), quiet(2, 128, 4));
    };
    set_threads(2);
    const History a = run(), b = run();
    set_threads(1);
    const History c = run();
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(a.epochs[e].loss == b.epochs[e].loss);
        CHECK(a.epochs[e].val_loss == b.epochs[e].val_loss);
        CHECK(a.epochs[e].val_accuracy == doctest::Approx(c.epochs[e].val_accuracy).epsilon(0.05));
    }
}

TEST_CASE("inference_train_samples evaluates the first N training samples in inference mode after each epoch") {
    const Blobs train(300, 31), val(50, 32);
    Sequential<Dense<6, 16>, BatchNorm<16>, ReLU, Dense<16, 3>> net;
    init(net, 2);
    RMSprop<float> opt;
    const FitOptions o = quiet(2, 32, 3);
    FitDiagnostics d;
    d.inference_train_samples = 100;
    std::vector<Evaluation> seen;
    d.on_epoch_end = [&](const EpochRecord&) { seen.push_back(evaluate(net, train.samples(), o.evaluation_batch_size, 100)); };
    const History h = fit(net, opt, train.samples(), val.samples(), o, d);
    REQUIRE(seen.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(h.epochs[e].train_loss_inference == seen[e].loss);
        CHECK(h.epochs[e].train_accuracy_inference == seen[e].accuracy);
        CHECK(h.epochs[e].train_accuracy_inference * 100 == doctest::Approx(std::round(h.epochs[e].train_accuracy_inference * 100)));
    }
    const History off = [&] {
        Sequential<Dense<6, 16>, BatchNorm<16>, ReLU, Dense<16, 3>> n2;
        init(n2, 2);
        RMSprop<float> o2;
        return fit(n2, o2, train.samples(), val.samples(), quiet(1, 32, 3));
    }();
    CHECK(std::isnan(off.epochs[0].train_accuracy_inference));
}

TEST_CASE("after fit and evaluate, whose batch buffers are gone, backward is a clear error, not freed memory") {
    const Blobs train(64, 41), val(16, 42);
    Sequential<Dense<6, 8>, BatchNorm<8>, ReLU, Dense<8, 3>> net;
    init(net, 1);
    RMSprop<float> opt;
    fit(net, opt, train.samples(), val.samples(), quiet(1, 16, 1));
    const Matrix<float> dy = zeros<float>(16, 3);
    CHECK_THROWS_WITH_AS(net.backward(dy), "layerwise: Dense: backward called before forward", std::logic_error);
    const Matrix<float> x = zeros<float>(16, 6);
    net.forward(x, Mode::train);
    net.backward(dy);  // a named input that is still alive: fine
    evaluate(net, val.samples());
    CHECK_THROWS_AS(net.backward(dy), std::logic_error);
}

TEST_CASE("fit with SoftmaxCrossEntropy given explicitly is the classification fit, bit for bit") {
    const Blobs train(120, 51), val(30, 52);
    Net a, b;
    init(a, 5);
    init(b, 5);
    RMSprop<float> oa, ob;
    const History ha = fit(a, oa, train.samples(), val.samples(), quiet(2, 32, 6));
    const History hb = fit(b, ob, SoftmaxCrossEntropy<float>{}, train.samples(), val.samples(), quiet(2, 32, 6));
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(ha.epochs[e].loss == hb.epochs[e].loss);
        CHECK(ha.epochs[e].accuracy == hb.epochs[e].accuracy);
        CHECK(ha.epochs[e].val_loss == hb.epochs[e].val_loss);
        CHECK(ha.epochs[e].val_accuracy == hb.epochs[e].val_accuracy);
    }
    CHECK(a.layer<0>().W == b.layer<0>().W);
}

namespace {
// y = x A + noise: 4 inputs, 2 outputs, uniform inputs in [-1, 1), noise of 0.01.
struct LinearData {
    Matrix<float> x, y;
    LinearData(std::size_t n, std::uint64_t seed) : x(zeros<float>(n, 4)), y(zeros<float>(n, 2)) {
        const float A[4][2] = {{1.5f, -2.0f}, {0.5f, 1.0f}, {-1.0f, 0.25f}, {2.0f, 0.75f}};
        std::mt19937_64 rng(seed);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < 4; ++j) x(i, j) = static_cast<float>(2 * uniform01(rng) - 1);
            for (std::size_t k = 0; k < 2; ++k) {
                float s = static_cast<float>(0.02 * uniform01(rng) - 0.01);
                for (std::size_t j = 0; j < 4; ++j) s += x(i, j) * A[j][k];
                y(i, k) = s;
            }
        }
    }
    RegressionSamples<float> samples() const { return {x, y}; }
};
}  // namespace

TEST_CASE("fit with MeanSquaredError learns a linear regression, deterministically, without accuracy") {
    const LinearData train(512, 61), val(128, 62);
    using Regressor = Sequential<Dense<4, 16>, ReLU, Dense<16, 2>>;
    auto run = [&](Regressor& net, std::ostream& log) {
        init(net, 7);
        RMSprop<float> opt(3e-3f);
        FitOptions o = quiet(20, 32, 8);
        o.verbosity = Verbosity::plain;
        o.out = &log;
        FitDiagnostics d;
        d.inference_train_samples = 64;
        return fit(net, opt, MeanSquaredError<float>{}, train.samples(), val.samples(), o, d);
    };
    Regressor a, b;
    std::ostringstream log_a, log_b;
    const History ha = run(a, log_a), hb = run(b, log_b);
    REQUIRE(ha.epochs.size() == 20);
    CHECK_FALSE(ha.divergence);
    INFO(ha.csv());
    CHECK(ha.epochs.back().loss < ha.epochs.front().loss / 50);  // the loss drops by a large factor
    CHECK(ha.epochs.back().val_loss < 0.02);                     // (the targets' variance is about 2.5)
    for (std::size_t e = 0; e < 20; ++e) {
        CHECK(ha.epochs[e].loss == hb.epochs[e].loss);  // exact: same seed, same bits
        CHECK(ha.epochs[e].val_loss == hb.epochs[e].val_loss);
        CHECK(std::isnan(ha.epochs[e].accuracy));
        CHECK(std::isnan(ha.epochs[e].val_accuracy));
        CHECK(std::isnan(ha.epochs[e].train_accuracy_inference));
        CHECK(std::isfinite(ha.epochs[e].train_loss_inference));
    }
    CHECK(a.layer<2>().W == b.layer<2>().W);
    const Evaluation e = evaluate(a, MeanSquaredError<float>{}, val.samples(), 50);
    CHECK(e.loss == doctest::Approx(ha.epochs.back().val_loss).epsilon(1e-5));
    CHECK(std::isnan(e.accuracy));
    // history.csv leaves the accuracies empty; the progress lines leave them out
    const std::string csv = ha.csv();
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);
    std::getline(lines, line);
    std::vector<std::string> fields;
    std::istringstream row(line);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    fields.resize(10);  // getline drops a last empty field
    CHECK(fields[0] == "1");
    CHECK(std::stod(fields[1]) == doctest::Approx(ha.epochs[0].loss));
    CHECK(fields[2].empty());  // accuracy
    CHECK(std::stod(fields[3]) == doctest::Approx(ha.epochs[0].val_loss));
    CHECK(fields[4].empty());  // val_accuracy
    CHECK(fields[6] == "ok");
    CHECK(std::stod(fields[7]) == doctest::Approx(ha.epochs[0].train_loss_inference));
    CHECK(fields[8].empty());  // train_accuracy_inference
    CHECK(log_a.str().find("Epoch 20/20 - 16 steps - ") != std::string::npos);
    CHECK(log_a.str().find("accuracy") == std::string::npos);
    CHECK(log_a.str().find("val_loss: ") != std::string::npos);
}

TEST_CASE("regression targets must match the rows, and the network's outputs") {
    const LinearData train(40, 71);
    Sequential<Dense<4, 2>> net;
    init(net, 1);
    SGD<float> opt;
    const Matrix<float> short_y = zeros<float>(39, 2), wide_y = zeros<float>(40, 3);
    const RegressionSamples<float> bad_rows{train.x, short_y}, bad_cols{train.x, wide_y};
    CHECK_THROWS_WITH_AS(fit(net, opt, MeanSquaredError<float>{}, bad_rows, train.samples(), quiet(1, 8, 1)),
                         "layerwise: fit: the training set is empty or its rows and targets differ in number",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(fit(net, opt, MeanSquaredError<float>{}, bad_cols, train.samples(), quiet(1, 8, 1)),
                         "layerwise: MeanSquaredError: outputs have shape (8 x 2) but targets (8 x 3)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(evaluate(net, MeanSquaredError<float>{}, bad_rows),
                         "layerwise: evaluate: rows and targets differ in number", std::invalid_argument);
}

TEST_CASE("a network never given init(net, seed) trains: it was initialised when constructed") {
    const Blobs train(300, 1), val(90, 2);
    Net net;  // no init
    RMSprop<float> opt(1e-2f);
    const History h = fit(net, opt, train.samples(), val.samples(), quiet(3, 32, 1));
    REQUIRE(h.epochs.size() == 3);
    CHECK(h.epochs.back().loss < h.epochs.front().loss);
    CHECK(h.epochs.back().val_accuracy > 0.9);
}

TEST_CASE("a bad sample is named by its row in the caller's data: fit (before shuffling), its validation, evaluate") {
    const Blobs train(300, 1), val(600, 2);
    Net net;
    SGD<float> opt(0.01f);
    auto expect = [](auto&& call, const std::string& message, std::size_t row) {
        try {
            call();
            FAIL("no error for a bad sample");
        } catch (const SampleError& e) {
            CHECK(std::string(e.what()) == message);
            CHECK(e.sample() == row);
        }
    };
    {  // a label out of range at training row 17: found in a shuffled batch, reported as row 17
        std::vector<int> y = train.y;
        y[17] = 4;
        expect([&] { fit(net, opt, {train.x, y}, val.samples(), quiet(1, 32, 5)); },
               "layerwise: fit: sample 17 of the training set: label 4 is outside [0, 3)", 17);
    }
    {  // in the validation set, at row 500 (the second evaluation batch of 512 starts at 512)
        std::vector<int> y = val.y;
        y[500] = -1;
        expect([&] { fit(net, opt, train.samples(), {val.x, y}, quiet(1, 32, 5)); },
               "layerwise: fit: sample 500 of the validation set: label -1 is outside [0, 3)", 500);
        expect([&] { evaluate(net, Samples<float>{val.x, y}, 128); },
               "layerwise: evaluate: sample 500: label -1 is outside [0, 3)", 500);
    }
    {  // a NaN feature: refused before training starts, and by evaluate
        Matrix<float> x = train.x;
        x(123, 4) = std::numeric_limits<float>::quiet_NaN();
        const auto before = parameters_of(net);
        expect([&] { fit(net, opt, {x, train.y}, val.samples(), quiet(1, 32, 5)); },
               "layerwise: fit: sample 123 of the training set: feature 4 is NaN", 123);
        CHECK(parameters_of(net) == before);  // nothing was trained
        expect([&] { evaluate(net, Samples<float>{x, train.y}); }, "layerwise: evaluate: sample 123: feature 4 is NaN",
               123);
    }
}
