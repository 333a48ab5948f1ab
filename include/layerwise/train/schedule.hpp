// layerwise/train/schedule.hpp — learning-rate schedules: a factor on the optimizer's base
// learning rate for every step, from the step alone.
//
// A schedule is a function of (step, steps_per_epoch, total_steps): the 0-based global step,
// the steps in one epoch and the steps of the whole run (epochs x steps_per_epoch). fit sets
//   optimizer.learning_rate = base * schedule.factor(step, ...) * (the callbacks' factor)
// before every step (FitOptions::schedule), base being the optimizer's learning rate when fit
// starts. Being a function of the global step, a resumed run gets the rates of one that never
// stopped.
//
//   constant               1
//   step:K:GAMMA           gamma^floor(epoch / K), epoch = step / steps_per_epoch
//                          (torch's StepLR(step_size=K, gamma), stepped once per epoch)
//   cosine[:MIN]           MIN + (1 - MIN)(1 + cos(pi step / total_steps)) / 2
//                          (torch's CosineAnnealingLR(T_max=total_steps, eta_min=MIN base),
//                          stepped every step; MIN defaults to 0)
//   warmup:W[+INNER]       INNER(step) min(1, (step + 1) / W), INNER one of the above, constant
//                          by default (torch's LinearLR(start_factor=1/W, total_iters=W-1)
//                          times INNER)
//
// parse_schedule reads these spellings (a command line's --schedule) and to_string writes
// them (for the run's record). A schedule of one's own is a LearningRateSchedule made from a
// description and any function of the three numbers.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace layerwise {

/// A factor on the base learning rate for every step (the top of this file). Empty (default
/// constructed): the constant 1.
class LearningRateSchedule {
public:
    /// factor(step, steps_per_epoch, total_steps): step is the 0-based global step.
    using Function = std::function<double(std::size_t step, std::size_t steps_per_epoch, std::size_t total_steps)>;

    /// The constant schedule.
    LearningRateSchedule() = default;
    /// The schedule `f`, written `description` by to_string (for the run's record).
    LearningRateSchedule(std::string description, Function f)
        : description_(std::move(description)), f_(std::move(f)) {}

    /// The factor on the base learning rate at the 0-based global `step` of a run of
    /// `total_steps` steps, `steps_per_epoch` to an epoch.
    double factor(std::size_t step, std::size_t steps_per_epoch, std::size_t total_steps) const {
        return f_ ? f_(step, steps_per_epoch, total_steps) : 1.0;
    }
    /// True for the constant schedule: the learning rate is never changed.
    bool constant() const { return !f_; }
    /// How to_string writes it: "constant", "step:10:0.5", ...
    const std::string& description() const { return description_; }

private:
    std::string description_ = "constant";
    Function f_;
};

namespace detail {

// The shortest text that reads back as the same double.
inline std::string shortest(double v) {
    char text[32];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
    return ec == std::errc() ? std::string(text, end) : std::to_string(v);
}

}  // namespace detail

/// The constant schedule: factor 1 at every step.
inline LearningRateSchedule constant_schedule() { return {}; }

/// gamma^floor(epoch / every_epochs), epoch = step / steps_per_epoch: torch's StepLR stepped
/// once per epoch. Throws std::invalid_argument unless every_epochs >= 1 and gamma > 0 is finite.
inline LearningRateSchedule step_decay(std::size_t every_epochs, double gamma) {
    if (every_epochs == 0) throw std::invalid_argument("layerwise: step_decay: the epochs between decays must be at least 1");
    if (!(gamma > 0) || !std::isfinite(gamma))
        throw std::invalid_argument("layerwise: step_decay: gamma must be a finite number above 0, got " +
                                    detail::shortest(gamma));
    return {"step:" + std::to_string(every_epochs) + ":" + detail::shortest(gamma),
            [every_epochs, gamma](std::size_t step, std::size_t steps_per_epoch, std::size_t) {
                const std::size_t epoch = step / steps_per_epoch;            // 0-based
                return std::pow(gamma, double(epoch / every_epochs));        // gamma^floor(epoch / K)
            }};
}

/// min_factor + (1 - min_factor)(1 + cos(pi step / total_steps)) / 2: torch's CosineAnnealingLR
/// with T_max the run's steps and eta_min = min_factor base, stepped every step. Throws
/// std::invalid_argument unless min_factor is in [0, 1].
inline LearningRateSchedule cosine_decay(double min_factor = 0) {
    if (!(min_factor >= 0 && min_factor <= 1))
        throw std::invalid_argument("layerwise: cosine_decay: the minimum factor must be in [0, 1], got " +
                                    detail::shortest(min_factor));
    return {min_factor == 0 ? std::string("cosine") : "cosine:" + detail::shortest(min_factor),
            [min_factor](std::size_t step, std::size_t, std::size_t total_steps) {
                const double c = std::cos(std::numbers::pi * double(step) / double(total_steps));
                return min_factor + (1 - min_factor) * (1 + c) / 2;  // min + (1 - min)(1 + cos(pi t / T)) / 2
            }};
}

/// inner(step) min(1, (step + 1) / steps): a linear warm-up over the first `steps` steps, from
/// 1/steps of inner's rate to all of it (torch's LinearLR(start_factor=1/steps,
/// total_iters=steps-1) times inner). Throws std::invalid_argument unless steps >= 1.
inline LearningRateSchedule linear_warmup(std::size_t steps, LearningRateSchedule inner = {}) {
    if (steps == 0) throw std::invalid_argument("layerwise: linear_warmup: the warm-up must last at least 1 step");
    std::string description = "warmup:" + std::to_string(steps) + "+" + inner.description();
    return {std::move(description),
            [steps, inner = std::move(inner)](std::size_t step, std::size_t steps_per_epoch, std::size_t total_steps) {
                const double ramp = std::min(1.0, double(step + 1) / double(steps));  // min(1, (step + 1) / w)
                return inner.factor(step, steps_per_epoch, total_steps) * ramp;
            }};
}

/// The spelling of s that parse_schedule reads: "constant", "step:10:0.5", "cosine",
/// "cosine:0.01", "warmup:500+cosine", or a schedule of one's own's description.
inline std::string to_string(const LearningRateSchedule& s) { return s.description(); }

namespace detail {

[[noreturn]] inline void bad_schedule(std::string_view text, const std::string& problem) {
    throw std::invalid_argument("layerwise: learning-rate schedule '" + std::string(text) + "': " + problem +
                                " (expected constant, step:EPOCHS:GAMMA, cosine, cosine:MIN or "
                                "warmup:STEPS[+one of those])");
}

// The whole of `field` as a T (an unsigned count or a double), or bad_schedule.
template <class T>
T schedule_number(std::string_view text, std::string_view field, const char* what) {
    T value{};
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (field.empty() || ec != std::errc() || end != field.data() + field.size())
        bad_schedule(text, std::string(what) + " '" + std::string(field) + "' is not a number");
    return value;
}

// One schedule without warm-up: constant, step:K:GAMMA, cosine or cosine:MIN.
inline LearningRateSchedule parse_plain_schedule(std::string_view text, std::string_view s) {
    try {
        if (s == "constant") return constant_schedule();
        if (s == "cosine") return cosine_decay();
        if (s.starts_with("cosine:")) return cosine_decay(schedule_number<double>(text, s.substr(7), "MIN"));
        if (s.starts_with("step:")) {
            const std::string_view rest = s.substr(5);
            const std::size_t colon = rest.find(':');
            if (colon == std::string_view::npos) bad_schedule(text, "step needs EPOCHS and GAMMA");
            return step_decay(schedule_number<std::size_t>(text, rest.substr(0, colon), "EPOCHS"),
                              schedule_number<double>(text, rest.substr(colon + 1), "GAMMA"));
        }
    } catch (const std::invalid_argument& e) {  // a factory's refusal, said of the whole text
        const std::string what = e.what();
        if (what.starts_with("layerwise: learning-rate schedule")) throw;
        bad_schedule(text, what.substr(what.find(": ", 11) + 2));
    }
    bad_schedule(text, "unknown schedule '" + std::string(s) + "'");
}

}  // namespace detail

/// The schedule spelt `text`: constant, step:EPOCHS:GAMMA, cosine, cosine:MIN, warmup:STEPS or
/// warmup:STEPS+ any of the others (the top of this file). Throws std::invalid_argument naming
/// the text and the expected forms for anything else.
inline LearningRateSchedule parse_schedule(std::string_view text) {
    if (!text.starts_with("warmup:")) return detail::parse_plain_schedule(text, text);
    const std::string_view rest = text.substr(7);
    const std::size_t plus = rest.find('+');
    const auto steps = detail::schedule_number<std::size_t>(text, rest.substr(0, plus), "STEPS");
    if (steps == 0) detail::bad_schedule(text, "the warm-up must last at least 1 step");
    if (plus == std::string_view::npos) return linear_warmup(steps);
    const std::string_view inner = rest.substr(plus + 1);
    if (inner.starts_with("warmup:")) detail::bad_schedule(text, "one warm-up only");
    return linear_warmup(steps, detail::parse_plain_schedule(text, inner));
}

}  // namespace layerwise
