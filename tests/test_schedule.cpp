// Learning-rate schedules: each one's factors at chosen steps against its closed form, the
// spellings parse_schedule reads and to_string writes, and the errors for any other.
#include "testing.hpp"

#include <layerwise/train/schedule.hpp>

#include <cmath>
#include <numbers>
#include <string>

using namespace layerwise;

TEST_CASE("constant: 1 at every step, also when default-constructed") {
    const LearningRateSchedule none, c = constant_schedule(), parsed = parse_schedule("constant");
    for (std::size_t step : {0u, 1u, 99u, 10000u}) {
        CHECK(none.factor(step, 10, 100) == 1.0);
        CHECK(c.factor(step, 10, 100) == 1.0);
        CHECK(parsed.factor(step, 10, 100) == 1.0);
    }
    CHECK(none.constant());
    CHECK(to_string(none) == "constant");
}

TEST_CASE("step decay: gamma^floor(epoch / k), epoch = step / steps_per_epoch (StepLR stepped per epoch)") {
    const LearningRateSchedule s = step_decay(3, 0.5);  // 10 steps per epoch: the rate halves every 30 steps
    CHECK_FALSE(s.constant());
    CHECK(s.factor(0, 10, 1000) == 1.0);
    CHECK(s.factor(29, 10, 1000) == 1.0);   // epoch 2 (0-based)
    CHECK(s.factor(30, 10, 1000) == 0.5);   // epoch 3
    CHECK(s.factor(59, 10, 1000) == 0.5);
    CHECK(s.factor(60, 10, 1000) == 0.25);  // epoch 6
    CHECK(s.factor(95, 10, 1000) == std::pow(0.5, 3));
    CHECK(to_string(s) == "step:3:0.5");
    CHECK(parse_schedule("step:10:0.1").factor(100, 1, 1000) == std::pow(0.1, 10));
}

TEST_CASE("cosine: min + (1 - min)(1 + cos(pi step / total)) / 2 (CosineAnnealingLR stepped every step)") {
    const LearningRateSchedule s = cosine_decay(), m = cosine_decay(0.01);
    for (std::size_t step : {0u, 1u, 25u, 50u, 77u, 99u}) {
        CAPTURE(step);
        const double c = std::cos(std::numbers::pi * double(step) / 100.0);
        CHECK(s.factor(step, 7, 100) == doctest::Approx((1 + c) / 2).epsilon(1e-15));
        CHECK(m.factor(step, 7, 100) == doctest::Approx(0.01 + 0.99 * (1 + c) / 2).epsilon(1e-15));
    }
    CHECK(s.factor(0, 7, 100) == 1.0);
    CHECK(s.factor(50, 7, 100) == doctest::Approx(0.5).epsilon(1e-15));
    CHECK(m.factor(100, 7, 100) == doctest::Approx(0.01).epsilon(1e-15));  // where it would end
    CHECK(to_string(s) == "cosine");
    CHECK(to_string(m) == "cosine:0.01");
    CHECK(parse_schedule("cosine:0.01").factor(33, 7, 100) == m.factor(33, 7, 100));
}

TEST_CASE("linear warm-up over w steps times any schedule: inner(step) min(1, (step + 1) / w)") {
    const LearningRateSchedule w = linear_warmup(4), wc = linear_warmup(4, cosine_decay());
    CHECK(w.factor(0, 10, 100) == 0.25);  // LinearLR(start_factor = 1/4, total_iters = 3)
    CHECK(w.factor(1, 10, 100) == 0.5);
    CHECK(w.factor(2, 10, 100) == 0.75);
    CHECK(w.factor(3, 10, 100) == 1.0);
    CHECK(w.factor(50, 10, 100) == 1.0);
    for (std::size_t step : {0u, 2u, 3u, 40u, 99u}) {
        CAPTURE(step);
        const double inner = (1 + std::cos(std::numbers::pi * double(step) / 100.0)) / 2;
        CHECK(wc.factor(step, 10, 100) == inner * std::min(1.0, double(step + 1) / 4.0));
    }
    const LearningRateSchedule ws = parse_schedule("warmup:500+step:2:0.5");
    CHECK(ws.factor(99, 100, 1000) == 0.2);
    CHECK(ws.factor(499, 100, 1000) == 0.25);  // epoch 4: 0.5^2, warm-up done
    CHECK(to_string(wc) == "warmup:4+cosine");
    CHECK(to_string(w) == "warmup:4+constant");
}

TEST_CASE("parse_schedule reads what to_string writes") {
    for (const char* text : {"constant", "step:10:0.5", "step:1:0.96", "cosine", "cosine:0.01", "warmup:500+cosine",
                             "warmup:3+step:10:0.5", "warmup:1+cosine:0.001", "warmup:10+constant"})
        CHECK(to_string(parse_schedule(text)) == text);
    CHECK(to_string(parse_schedule("warmup:7")) == "warmup:7+constant");
    CHECK(to_string(parse_schedule("step:4:0.1")) == "step:4:0.1");  // the shortest text that reads back
}

TEST_CASE("parse_schedule names the text and the expected forms for anything else") {
    const std::string forms =
        " (expected constant, step:EPOCHS:GAMMA, cosine, cosine:MIN or warmup:STEPS[+one of those])";
    auto message = [&](const std::string& text, const std::string& problem) {
        return "layerwise: learning-rate schedule '" + text + "': " + problem + forms;
    };
    CHECK_THROWS_WITH_AS(parse_schedule("linear"), message("linear", "unknown schedule 'linear'").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule(""), message("", "unknown schedule ''").c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("step:10"), message("step:10", "step needs EPOCHS and GAMMA").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("step:x:0.5"), message("step:x:0.5", "EPOCHS 'x' is not a number").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("step:0:0.5"),
                         message("step:0:0.5", "the epochs between decays must be at least 1").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("step:2:-1"),
                         message("step:2:-1", "gamma must be a finite number above 0, got -1").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("cosine:2"),
                         message("cosine:2", "the minimum factor must be in [0, 1], got 2").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("cosine:0.1x"), message("cosine:0.1x", "MIN '0.1x' is not a number").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("warmup:0+cosine"),
                         message("warmup:0+cosine", "the warm-up must last at least 1 step").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("warmup:+cosine"), message("warmup:+cosine", "STEPS '' is not a number").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("warmup:5+warmup:5"),
                         message("warmup:5+warmup:5", "one warm-up only").c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_schedule("warmup:5+cos"), message("warmup:5+cos", "unknown schedule 'cos'").c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(step_decay(2, 0.0), "layerwise: step_decay: gamma must be a finite number above 0, got 0",
                         std::invalid_argument);
}

TEST_CASE("a schedule of one's own: any function of the step, with its description") {
    const LearningRateSchedule halves("halving", [](std::size_t step, std::size_t, std::size_t) {
        return std::pow(0.5, double(step));
    });
    CHECK(halves.factor(3, 1, 10) == 0.125);
    CHECK(to_string(halves) == "halving");
    CHECK(to_string(linear_warmup(2, halves)) == "warmup:2+halving");
}
