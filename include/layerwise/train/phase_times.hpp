// layerwise/train/phase_times.hpp — where a run's time goes: seconds per named phase.
//
//   PhaseTimes times;
//   { auto t = times.measure("evaluation");  evaluate(...); }     // adds the scope's seconds
//   times.seconds("evaluation");  times.total();  times.phases()   // in the order first seen
//
// fit (History::times) fills in train_steps, evaluation and train_inference, and
// study::Recorder its probe, statistics, histograms and files. Phases do not nest: each
// second belongs to one phase, so they add up to the time measured.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace layerwise {

/// Seconds per named phase, in the order the phases were first seen (the top of this file).
class PhaseTimes {
public:
    /// Adds seconds to a phase (a new phase goes last).
    void add(std::string_view phase, double seconds) {
        for (auto& [name, s] : phases_)
            if (name == phase) {
                s += seconds;
                return;
            }
        phases_.emplace_back(std::string(phase), seconds);
    }

    /// Adds every phase of other.
    PhaseTimes& operator+=(const PhaseTimes& other) {
        for (const auto& [name, s] : other.phases_) add(name, s);
        return *this;
    }

    /// The seconds of a phase (0 if it never ran).
    double seconds(std::string_view phase) const {
        for (const auto& [name, s] : phases_)
            if (name == phase) return s;
        return 0;
    }

    /// The seconds of every phase, summed.
    double total() const {
        double t = 0;
        for (const auto& p : phases_) t += p.second;
        return t;
    }

    /// Every phase's name and seconds, in the order first seen.
    const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }

    /// Measures the time until it goes out of scope, and adds it to the phase (nothing when
    /// times is null). The phase's name must outlive the scope: a string literal.
    class Scope {
    public:
        /// Starts the clock for `phase` of times (null: measure nothing).
        Scope(PhaseTimes* times, std::string_view phase)
            : times_(times), phase_(phase), start_(std::chrono::steady_clock::now()) {}
        /// Adds the seconds since construction to the phase.
        ~Scope() {
            if (times_)
                times_->add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
        }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        PhaseTimes* times_;
        std::string_view phase_;
        std::chrono::steady_clock::time_point start_;
    };

    /// A Scope that adds its lifetime to `phase` of these times.
    Scope measure(std::string_view phase) { return Scope(this, phase); }

private:
    std::vector<std::pair<std::string, double>> phases_;
};

}  // namespace layerwise
