// layerwise/train/progress.hpp — Keras-like progress output for fit.
//
// On a terminal: a live line per epoch, redrawn at most ten times a second,
//   Epoch 3/20
//   231/469 [=============>...............] - ETA: 2s - loss: 0.1234 - accuracy: 0.9612
// then the epoch's summary in its place. Elsewhere (a log file, a pipe, CI): one plain
// line per epoch. Quiet: nothing. An accuracy that is NaN (a regression has none) is left out.
#pragma once

#include "history.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <unistd.h>

namespace layerwise {

/// What fit prints (the top of this file).
enum class Verbosity { quiet /**< nothing */, plain /**< one line per epoch */, live /**< a line redrawn in place */ };

/// live when standard output is a terminal, plain otherwise.
inline Verbosity default_verbosity() { return ::isatty(STDOUT_FILENO) ? Verbosity::live : Verbosity::plain; }

/// fit's progress output to a stream, as its Verbosity says (the top of this file).
class ProgressLine {
public:
    /// Writes to out (which must outlive it) as verbosity says.
    ProgressLine(std::ostream& out, Verbosity verbosity) : out_(out), verbosity_(verbosity) {}

    /// Starts epoch `epoch` of `epochs`, which has `steps` steps (live: prints "Epoch 3/20").
    void begin_epoch(std::size_t epoch, std::size_t epochs, std::size_t steps) {
        epochs_ = epochs;
        steps_ = steps;
        start_ = last_draw_ = clock::now();
        if (verbosity_ == Verbosity::live) out_ << "Epoch " << epoch << "/" << epochs << "\n" << std::flush;
    }

    /// After `done` steps of the epoch, with the running loss and accuracy (NaN: none): redraws
    /// the live line, at most ten times a second and after the last step.
    void step(std::size_t done, double loss, double accuracy) {
        if (verbosity_ != Verbosity::live) return;
        const auto now = clock::now();
        if (done != steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        const double elapsed = seconds_since(start_);
        const double eta = done > 0 ? elapsed / double(done) * double(steps_ - done) : 0;
        const std::size_t width = 30, filled = steps_ ? width * done / steps_ : width;
        std::string bar(width, '.');
        for (std::size_t k = 0; k < filled; ++k) bar[k] = '=';
        if (filled < width) bar[filled] = '>';
        char line[256];
        std::snprintf(line, sizeof line, "\r%zu/%zu [%s] - ETA: %.0fs - loss: %.4f%s", done, steps_, bar.c_str(), eta,
                      loss, metric("accuracy", accuracy).c_str());
        out_ << line << std::flush;
    }

    /// The epoch's summary line from its record (not in quiet).
    void end_epoch(const EpochRecord& r) {
        if (verbosity_ == Verbosity::quiet) return;
        char line[320];
        if (verbosity_ == Verbosity::live)
            std::snprintf(line, sizeof line,
                          "\r%zu/%zu - %.1fs - loss: %.4f%s - val_loss: %.4f%s"
                          "                    \n",
                          steps_, steps_, r.seconds, r.loss, metric("accuracy", r.accuracy).c_str(), r.val_loss,
                          metric("val_accuracy", r.val_accuracy).c_str());
        else
            std::snprintf(line, sizeof line,
                          "Epoch %zu/%zu - %zu steps - %.1fs - loss: %.4f%s - val_loss: %.4f%s\n",
                          r.epoch, epochs_, steps_, r.seconds, r.loss, metric("accuracy", r.accuracy).c_str(),
                          r.val_loss, metric("val_accuracy", r.val_accuracy).c_str());
        out_ << line << std::flush;
    }

    /// "Training stopped: diverged in epoch ..., step ...: ..." (not in quiet).
    void diverged(const Divergence& d) {
        if (verbosity_ == Verbosity::quiet) return;
        out_ << (verbosity_ == Verbosity::live ? "\n" : "") << "Training stopped: diverged in epoch " << d.epoch
             << ", step " << d.step << ": " << d.what << "\n"
             << std::flush;
    }

    /// "Training stopped early after epoch ...: ..." (not in quiet).
    void stopped_early(const EarlyStop& s) {
        if (verbosity_ == Verbosity::quiet) return;
        out_ << "Training stopped early after epoch " << s.epoch << ": " << s.why << "\n" << std::flush;
    }

private:
    using clock = std::chrono::steady_clock;
    // " - name: 0.1234", or "" when the value is NaN (not measured).
    static std::string metric(const char* name, double value) {
        if (std::isnan(value)) return "";
        char text[64];
        std::snprintf(text, sizeof text, " - %s: %.4f", name, value);
        return text;
    }
    static double seconds_since(clock::time_point t) {
        return std::chrono::duration<double>(clock::now() - t).count();
    }

    std::ostream& out_;
    Verbosity verbosity_;
    std::size_t epochs_ = 0, steps_ = 0;
    clock::time_point start_{}, last_draw_{};
};

}  // namespace layerwise
