// PhaseTimes: seconds per named phase, in the order first seen; and fit's own phases.
#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <thread>

using namespace layerwise;

TEST_CASE("phases add up in the order they were first seen") {
    PhaseTimes t;
    CHECK(t.total() == 0);
    t.add("b", 1.5);
    t.add("a", 2.0);
    t.add("b", 0.5);
    REQUIRE(t.phases().size() == 2);
    CHECK(t.phases()[0].first == "b");
    CHECK(t.seconds("b") == 2.0);
    CHECK(t.seconds("a") == 2.0);
    CHECK(t.seconds("never") == 0);
    CHECK(t.total() == 4.0);
    PhaseTimes u;
    u.add("c", 1);
    u.add("a", 1);
    t += u;
    CHECK(t.seconds("a") == 3.0);
    CHECK(t.phases().back().first == "c");
}

TEST_CASE("a scope measures until it ends; a scope on no PhaseTimes measures nothing") {
    PhaseTimes t;
    {
        auto timed = t.measure("sleep");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(t.seconds("sleep") >= 0.019);
    { PhaseTimes::Scope timed(nullptr, "nothing"); }
    CHECK(t.phases().size() == 1);
}

TEST_CASE("fit reports its steps, evaluation and training-set inference") {
    using Net = Sequential<Dense<6, 8>, BatchNorm<8>, ReLU, Dense<8, 3>>;
    Net net;
    init(net, 1);
    const Matrix<float> x = layerwise::testing::random_matrix<float>(40, 6, 2);
    std::vector<int> y(40);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = int(i % 3);
    RMSprop<float> opt;
    FitOptions o;
    o.epochs = 2;
    o.batch_size = 8;
    o.verbosity = Verbosity::quiet;
    FitDiagnostics d;
    d.inference_train_samples = 16;
    const History h = fit(net, opt, {x, y}, {x, y}, o, d);
    REQUIRE(h.times.phases().size() == 3);
    CHECK(h.times.phases()[0].first == "train_steps");
    CHECK(h.times.phases()[1].first == "evaluation");
    CHECK(h.times.phases()[2].first == "train_inference");
    for (const auto& [phase, secs] : h.times.phases()) CHECK(secs > 0);
    double epochs = 0;
    for (const EpochRecord& e : h.epochs) epochs += e.seconds;
    CHECK(h.times.total() <= epochs);  // the phases are inside the epochs
}
