// fit's callbacks and learning rate: early stopping after `patience` bad epochs (and History
// saying why), ReduceLROnPlateau lowering the rate fit sets, KeepBest saving only on improvement
// (io::keep_best's file holding the best epoch's parameters), the schedule's rate at every
// step, clipping before the step, and the base rate put back.
#include "blobs.hpp"
#include "testing.hpp"

#include <layerwise/io/keep_best.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/optim/adam.hpp>
#include <layerwise/optim/sgd.hpp>
#include <layerwise/train/callbacks.hpp>
#include <layerwise/train/fit.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

using namespace layerwise;
using layerwise::testing::Blobs;
using layerwise::testing::TempDir;

namespace {

// No BatchNorm: with a learning rate of 0 nothing changes from one epoch to the next, so every
// epoch after the first has the first's validation loss exactly.
using Net = Sequential<Dense<6, 16>, ReLU, Dense<16, 3>>;

template <class N>
std::vector<std::vector<float>> parameters_of(N& net) {
    std::vector<std::vector<float>> out;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { out.emplace_back(value.begin(), value.end()); });
    return out;
}

FitOptions quiet(std::size_t epochs) {
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = 32;  // 120 samples: 4 steps
    o.seed = 3;
    o.verbosity = Verbosity::quiet;
    return o;
}

// A record with the given validation loss (and accuracy 1 - loss).
EpochRecord record(std::size_t epoch, double val_loss) {
    EpochRecord r;
    r.epoch = epoch;
    r.loss = r.val_loss = val_loss;
    r.accuracy = r.val_accuracy = 1 - val_loss;
    return r;
}

}  // namespace

TEST_CASE("early stopping stops after `patience` epochs without improvement, and History says why") {
    const Blobs train(120, 1), val(30, 2);
    Net net;
    init(net, 1);
    SGD<float> opt(0.0f);  // nothing moves: epoch 1 sets the best, every later epoch equals it
    auto stop = std::make_shared<EarlyStopping>("val_loss", 3);
    std::ostringstream log;
    FitOptions o = quiet(10);
    o.verbosity = Verbosity::plain;
    o.out = &log;
    o.callbacks = {stop};
    const History h = fit(net, opt, train.samples(), val.samples(), o);
    REQUIRE(h.epochs.size() == 4);  // 1 good + 3 bad
    REQUIRE(h.stopped_early);
    CHECK_FALSE(h.divergence);
    CHECK(h.stopped_early->epoch == 4);
    char best[32];
    std::snprintf(best, sizeof best, "%.6g", h.epochs[0].val_loss);
    const std::string why = std::string("val_loss has not improved for 3 epochs (best ") + best + " in epoch 1)";
    CHECK(h.stopped_early->why == why);
    CHECK(stop->best_epoch() == 1);
    CHECK(log.str().find("Training stopped early after epoch 4: " + why + "\n") != std::string::npos);
    CHECK(h.csv().find("\n4,,,,,,stopped early: " + why + ",,,\n") != std::string::npos);
    // a second fit with the same callback starts afresh (reset)
    const History again = fit(net, opt, train.samples(), val.samples(), o);
    CHECK(again.epochs.size() == 4);
}

TEST_CASE("EarlyStopping, ReduceLROnPlateau and KeepBest on records: Keras' rules") {
    const double losses[] = {0.5, 0.4, 0.45, 0.3, 0.3, 0.35, 0.31, 0.32};
    SUBCASE("early stopping counts bad epochs since the best, and an improvement resets the count") {
        EarlyStopping s("val_loss", 2);
        s.reset();
        std::vector<std::size_t> stops;
        for (std::size_t e = 0; e < 8; ++e)
            if (s.on_epoch_end(record(e + 1, losses[e]), false)) stops.push_back(e + 1);
        CHECK(stops == std::vector<std::size_t>{6, 7, 8});  // best 0.3 in epoch 4; 5 and 6 bad
        EarlyStopping acc("val_accuracy", 1);  // higher is better
        acc.reset();
        CHECK_FALSE(acc.on_epoch_end(record(1, 0.5), false));
        CHECK_FALSE(acc.on_epoch_end(record(2, 0.4), false));  // accuracy 0.6 > 0.5
        CHECK(acc.on_epoch_end(record(3, 0.45), false) ==
              std::optional<std::string>("val_accuracy has not improved for 1 epoch (best 0.6 in epoch 2)"));
        EarlyStopping delta("loss", 1);
        delta.min_delta = 0.06;  // 0.5 -> 0.45 is not enough
        delta.reset();
        CHECK_FALSE(delta.on_epoch_end(record(1, 0.5), false));
        CHECK(delta.on_epoch_end(record(2, 0.45), false));
    }
    SUBCASE("reduce on plateau: patience, cooldown, min_factor") {
        ReduceLROnPlateau r("val_loss", 0.5, 1);
        r.min_delta = 0;
        r.min_factor = 0.2;
        r.reset();
        std::vector<double> factors;
        for (std::size_t e = 0; e < 8; ++e) {
            CHECK_FALSE(r.on_epoch_end(record(e + 1, losses[e]), false));
            factors.push_back(r.learning_rate_factor());
        }
        // bad epochs 3, 5, 6, 7, 8: 0.5, 0.25 -> 0.2 (the floor), then no lower
        CHECK(factors == std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.2, 0.2, 0.2});
        CHECK(r.reductions() == 3);
        ReduceLROnPlateau c("val_loss", 0.5, 1);
        c.cooldown = 2;  // after a reduction, two epochs count for nothing
        c.reset();
        factors.clear();
        for (std::size_t e = 0; e < 8; ++e) {
            c.on_epoch_end(record(e + 1, losses[e]), false);
            factors.push_back(c.learning_rate_factor());
        }
        // a reduction after 3; 4 cools (and improves), 5 cools down to 0 and so counts: bad, reduce;
        // 6 cools; 7 bad, reduce; 8 cools (Keras: the last epoch of a cooldown already counts)
        CHECK(factors == std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125});
    }
    SUBCASE("keep best calls save on improvement only, and not while replaying") {
        std::vector<std::size_t> saved;
        KeepBest k([&](const EpochRecord& r) { saved.push_back(r.epoch); });
        k.reset();
        for (std::size_t e = 0; e < 8; ++e) k.on_epoch_end(record(e + 1, losses[e]), e < 1);
        CHECK(saved == std::vector<std::size_t>{2, 4});  // epoch 1 improved while replaying: no save
        CHECK(k.best_epoch() == 4);
        CHECK(k.best() == 0.3);
    }
    SUBCASE("bad settings and metrics are refused") {
        CHECK_THROWS_WITH_AS(EarlyStopping("val_acc"),
                             "layerwise: unknown metric to monitor 'val_acc' (expected val_loss, val_accuracy, loss or "
                             "accuracy)",
                             std::invalid_argument);
        ReduceLROnPlateau r;
        r.factor = 1.5;
        CHECK_THROWS_WITH_AS(r.reset(), "layerwise: ReduceLROnPlateau: factor must be in (0, 1), got 1.5",
                             std::invalid_argument);
        EarlyStopping s("accuracy");
        s.reset();
        EpochRecord regression = record(1, 0.5);
        regression.accuracy = std::numeric_limits<double>::quiet_NaN();
        CHECK_THROWS_WITH_AS(s.on_epoch_end(regression, false),
                             "layerwise: EarlyStopping monitors accuracy, which epoch 1 did not measure (NaN)",
                             std::invalid_argument);
    }
}

TEST_CASE("ReduceLROnPlateau lowers the learning rate fit uses, the records say so, and fit puts the base back") {
    const Blobs train(120, 1), val(30, 2);
    Net net;
    init(net, 1);
    SGD<float> opt(0.1f);
    auto plateau = std::make_shared<ReduceLROnPlateau>("val_loss", 0.5, 2);
    plateau->min_delta = 1e9;  // no epoch after the first counts as an improvement
    FitOptions o = quiet(6);
    o.callbacks = {plateau};
    std::vector<std::vector<float>> rates(7);  // [epoch]: the optimizer's rate at each step
    FitDiagnostics d;
    d.on_step = [&](std::size_t epoch, std::size_t, std::size_t) { rates[epoch].push_back(opt.learning_rate); };
    const History h = fit(net, opt, train.samples(), val.samples(), o, d);
    REQUIRE(h.epochs.size() == 6);
    // bad epochs 2, 3 (reduce after 3), 4, 5 (reduce after 5)
    const float expected[] = {0, 0.1f, 0.1f, 0.1f, float(0.1f * 0.5), float(0.1f * 0.5), float(0.1f * 0.25)};
    for (std::size_t e = 1; e <= 6; ++e) {
        CAPTURE(e);
        CHECK(rates[e] == std::vector<float>(4, expected[e]));
        CHECK(h.epochs[e - 1].learning_rate == double(expected[e]));
    }
    CHECK(plateau->reductions() == 2);
    CHECK(opt.learning_rate == 0.1f);  // the base, back
    CHECK(h.csv().find(",ok,,,0.0250000004\n") != std::string::npos);  // 0.025f as %.9g
}

TEST_CASE("fit sets base * schedule(global step) before every step, and clips before the step") {
    const Blobs train(120, 1), val(30, 2);
    Net net;
    init(net, 1);
    Adam<float> opt(0.01f);
    FitOptions o = quiet(3);
    o.schedule = parse_schedule("warmup:3+step:1:0.5");
    o.clip_norm = 0.05;
    std::vector<float> rates;
    std::vector<double> norms;
    FitDiagnostics d;
    d.on_step = [&](std::size_t, std::size_t, std::size_t) {
        rates.push_back(opt.learning_rate);
        norms.push_back(gradient_norm(net));  // the step's gradients, as the optimizer used them
    };
    const History h = fit(net, opt, train.samples(), val.samples(), o, d);
    REQUIRE(rates.size() == 12);
    for (std::size_t step = 0; step < 12; ++step) {
        CAPTURE(step);
        const double factor = std::pow(0.5, double(step / 4)) * std::min(1.0, double(step + 1) / 3);
        CHECK(rates[step] == static_cast<float>(double(0.01f) * factor));
        CHECK(norms[step] <= 0.05 * (1 + 1e-6));
    }
    CHECK(h.epochs[2].learning_rate == double(static_cast<float>(double(0.01f) * 0.25)));
    CHECK(opt.learning_rate == 0.01f);
}

TEST_CASE("without a schedule or callbacks fit trains as before: the optimizer's own rate, bit for bit") {
    const Blobs train(120, 1), val(30, 2);
    Net a, b;
    init(a, 4);
    init(b, 4);
    SGD<float> oa(0.05f), ob(0.05f);
    FitOptions with = quiet(2);
    with.schedule = constant_schedule();
    const History ha = fit(a, oa, train.samples(), val.samples(), quiet(2));
    const History hb = fit(b, ob, train.samples(), val.samples(), with);
    CHECK(parameters_of(a) == parameters_of(b));
    CHECK(ha.epochs[1].learning_rate == double(0.05f));
    CHECK(ha.epochs[1].val_loss == hb.epochs[1].val_loss);
}

TEST_CASE("keep best: io::keep_best saves only on improvement, and its file holds the best epoch's parameters") {
    const Blobs train(120, 1), val(30, 2);
    Net net;
    init(net, 2);
    SGD<float> opt(0.5f);
    TempDir dir("keep_best");
    std::size_t saves = 0;
    auto best = io::keep_best(dir / "best.npz", net);
    auto counting = std::make_shared<KeepBest>([&](const EpochRecord&) { ++saves; });
    std::vector<std::vector<std::vector<float>>> after;  // the parameters after each epoch
    FitDiagnostics d;
    d.on_epoch_end = [&](const EpochRecord&) { after.push_back(parameters_of(net)); };
    FitOptions o = quiet(6);
    o.callbacks = {best, counting};
    // every third epoch climbs the loss instead (a negative rate): the validation loss goes up and down
    o.schedule = LearningRateSchedule("zigzag", [](std::size_t step, std::size_t steps_per_epoch, std::size_t) {
        return step / steps_per_epoch % 3 == 2 ? -1.0 : 1.0;
    });
    const History h = fit(net, opt, train.samples(), val.samples(), o, d);
    REQUIRE(h.epochs.size() == 6);
    std::size_t improvements = 0, best_epoch = 0;
    double lowest = std::numeric_limits<double>::infinity();
    for (const EpochRecord& r : h.epochs)
        if (r.val_loss < lowest) {
            lowest = r.val_loss;
            best_epoch = r.epoch;
            ++improvements;
        }
    INFO(h.csv());
    CHECK(improvements < h.epochs.size());  // some epochs were worse: no save for them
    CHECK(best_epoch < h.epochs.size());     // the last climbed: the file is not the last epoch's
    CHECK(saves == improvements);
    CHECK(best->best_epoch() == best_epoch);
    Net loaded;
    io::load_npz(loaded, dir / "best.npz");
    CHECK(parameters_of(loaded) == after[best_epoch - 1]);
    CHECK(dir.entries() == std::set<std::string>{"best.npz"});  // written atomically: no temporary left
}

TEST_CASE("fit refuses a schedule or ReduceLROnPlateau for an optimizer without learning_rate, and bad clip_norm") {
    struct Fixed {  // an optimizer of one's own, with no learning_rate member
        SGD<float> sgd{0.1f};
        void step(Net& n) { sgd.step(n); }
    };
    const Blobs train(120, 1), val(30, 2);
    Net net;
    Fixed opt;
    FitOptions o = quiet(1);
    CHECK(std::isnan(fit(net, opt, train.samples(), val.samples(), o).epochs[0].learning_rate));
    o.schedule = cosine_decay();
    const char* message = "layerwise: fit: a learning-rate schedule or ReduceLROnPlateau needs an optimizer with a "
                          "learning_rate member";
    CHECK_THROWS_WITH_AS(fit(net, opt, train.samples(), val.samples(), o), message, std::invalid_argument);
    o = quiet(1);
    o.callbacks = {std::make_shared<ReduceLROnPlateau>()};
    CHECK_THROWS_WITH_AS(fit(net, opt, train.samples(), val.samples(), o), message, std::invalid_argument);
    o = quiet(1);
    o.callbacks = {std::make_shared<EarlyStopping>()};  // changes no rate: fine
    CHECK(fit(net, opt, train.samples(), val.samples(), o).epochs.size() == 1);
    o.clip_norm = -1;
    CHECK_THROWS_WITH_AS(fit(net, opt, train.samples(), val.samples(), o),
                         "layerwise: fit: clip_norm must be a finite number, at least 0", std::invalid_argument);
}
