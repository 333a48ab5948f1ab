// layerwise/train/callbacks.hpp — what fit does after every epoch besides recording it: stop
// early, lower the learning rate on a plateau, keep the best model, as Keras' callbacks.
//
//   auto stop = std::make_shared<EarlyStopping>("val_loss", 5);        // 5 epochs without improvement
//   auto plateau = std::make_shared<ReduceLROnPlateau>("val_loss", 0.5, 2);
//   options.callbacks = {stop, plateau, io::keep_best("best.npz", net)};
//
// A callback watches one metric of the epoch's record ("val_loss", "val_accuracy", "loss",
// "accuracy"; lower is better for the losses, higher for the accuracies) and improves on its
// best when it is better by more than min_delta. fit calls every callback, in order, after
// each completed epoch (after FitDiagnostics::on_epoch_end, before FitOptions::on_epoch_state),
// then stops if any of them said why it should, and multiplies the learning rate of the next
// steps by the product of their learning_rate_factor().
//
// A callback's state is a function of the records it has seen. fit resets every callback when
// it starts and, when it resumes from a TrainingState, first replays them over the restored
// history with `replaying` true (KeepBest does not save then): a resumed run takes the same
// decisions, and sets the same learning rates, as one that never stopped. (KeepBest saves
// before the epoch's checkpoint is written, so a run resumed from that checkpoint has its
// best file.)
#pragma once

#include "history.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace layerwise {

/// What fit calls after every epoch (the top of this file). A callback keeps state for one fit
/// at a time.
class Callback {
public:
    virtual ~Callback() = default;
    /// When fit starts, before anything else: forgets what an earlier fit left, and checks the
    /// settings (std::invalid_argument).
    virtual void reset() = 0;
    /// After the epoch `record` is complete. replaying: fit is rebuilding the state of a resumed
    /// run from its history, so do nothing outside the callback (no files). Returns why training
    /// must stop after this epoch, or nothing.
    virtual std::optional<std::string> on_epoch_end(const EpochRecord& record, bool replaying) = 0;
    /// The factor this callback puts on the learning rate of the steps from now on (1: none).
    virtual double learning_rate_factor() const { return 1; }
    /// True when learning_rate_factor() can differ from 1: fit then needs an optimizer with a
    /// learning_rate member.
    virtual bool changes_learning_rate() const { return false; }
};

/// One metric of an EpochRecord, and which way is better: "val_loss" and "loss" lower,
/// "val_accuracy" and "accuracy" higher.
class Monitor {
public:
    /// The metric named `metric`; std::invalid_argument for any other name.
    explicit Monitor(std::string_view metric) : name_(metric) {
        if (metric == "val_loss") field_ = &EpochRecord::val_loss;
        else if (metric == "loss") field_ = &EpochRecord::loss;
        else if (metric == "val_accuracy") field_ = &EpochRecord::val_accuracy, higher_ = true;
        else if (metric == "accuracy") field_ = &EpochRecord::accuracy, higher_ = true;
        else
            throw std::invalid_argument("layerwise: unknown metric to monitor '" + std::string(metric) +
                                        "' (expected val_loss, val_accuracy, loss or accuracy)");
    }

    /// "val_loss", ...
    const std::string& name() const { return name_; }
    /// True for the accuracies (mode max), false for the losses (mode min).
    bool higher_is_better() const { return higher_; }
    /// The metric's value in record; std::invalid_argument naming `who` when it was not
    /// measured (NaN: the accuracy of a loss that classifies nothing).
    double value(const EpochRecord& record, const char* who) const {
        const double v = record.*field_;
        if (std::isnan(v))
            throw std::invalid_argument(std::string("layerwise: ") + who + " monitors " + name_ + ", which epoch " +
                                        std::to_string(record.epoch) + " did not measure (NaN)");
        return v;
    }
    /// True when current is better than best by more than min_delta: current < best - min_delta
    /// for a loss, current > best + min_delta for an accuracy.
    bool improves(double current, double best, double min_delta) const {
        return higher_ ? current > best + min_delta : current < best - min_delta;
    }
    /// What `best` starts at, which any value improves on: +inf for a loss, -inf for an accuracy.
    double worst() const { return higher_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(); }

private:
    std::string name_;
    double EpochRecord::*field_ = nullptr;
    bool higher_ = false;
};

namespace detail {
// A metric's value for a message: %.6g.
inline std::string metric_text(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return text;
}
inline void require_min_delta(double min_delta, const char* who) {
    if (!(min_delta >= 0))
        throw std::invalid_argument(std::string("layerwise: ") + who + ": min_delta must be at least 0, got " +
                                    metric_text(min_delta));
}
}  // namespace detail

/// Stops training after `patience` epochs in a row (at least 1) in which the monitored metric
/// did not improve on its best by more than min_delta, as Keras' EarlyStopping. History says
/// why (History::stopped_early).
class EarlyStopping : public Callback {
public:
    std::size_t patience = 5;  ///< epochs without improvement that stop training (0 acts as 1)
    double min_delta = 0;      ///< an improvement is by more than this

    /// Watches `monitor` (Monitor's names) with the given patience.
    explicit EarlyStopping(std::string_view monitor = "val_loss", std::size_t patience_ = 5)
        : patience(patience_), monitor_(monitor) {}

    void reset() override {
        detail::require_min_delta(min_delta, "EarlyStopping");
        best_ = monitor_.worst();
        best_epoch_ = wait_ = 0;
    }

    std::optional<std::string> on_epoch_end(const EpochRecord& record, bool) override {
        const double v = monitor_.value(record, "EarlyStopping");
        if (monitor_.improves(v, best_, min_delta)) {
            best_ = v;
            best_epoch_ = record.epoch;
            wait_ = 0;
            return std::nullopt;
        }
        if (++wait_ < std::max<std::size_t>(patience, 1)) return std::nullopt;
        return monitor_.name() + " has not improved for " + std::to_string(wait_) + " epoch" +
               (wait_ == 1 ? "" : "s") + " (best " + detail::metric_text(best_) + " in epoch " +
               std::to_string(best_epoch_) + ")";
    }

    /// The metric watched.
    const Monitor& monitor() const { return monitor_; }
    /// The best value so far, and its epoch (0: none yet).
    double best() const { return best_; }
    /// The epoch of best() (1-based; 0 before the first).
    std::size_t best_epoch() const { return best_epoch_; }

private:
    Monitor monitor_;
    double best_ = monitor_.worst();
    std::size_t best_epoch_ = 0, wait_ = 0;  // wait_: epochs since the last improvement
};

/// Multiplies the learning rate by `factor` after `patience` epochs in a row without
/// improvement of the monitored metric, as Keras' ReduceLROnPlateau: after a reduction,
/// `cooldown` epochs count as neither good nor bad, and the learning rate's factor never goes
/// below min_factor (Keras' min_lr, as a fraction of the base learning rate).
class ReduceLROnPlateau : public Callback {
public:
    double factor = 0.1;        ///< what a reduction multiplies the learning rate by, in (0, 1)
    std::size_t patience = 10;  ///< epochs without improvement before a reduction (0 acts as 1)
    double min_delta = 1e-4;    ///< an improvement is by more than this
    std::size_t cooldown = 0;   ///< epochs after a reduction before epochs count again
    double min_factor = 0;      ///< the lowest factor on the base learning rate

    /// Watches `monitor` (Monitor's names); multiplies by factor_ after patience_ bad epochs.
    explicit ReduceLROnPlateau(std::string_view monitor = "val_loss", double factor_ = 0.1, std::size_t patience_ = 10)
        : factor(factor_), patience(patience_), monitor_(monitor) {}

    void reset() override {
        if (!(factor > 0 && factor < 1))
            throw std::invalid_argument("layerwise: ReduceLROnPlateau: factor must be in (0, 1), got " +
                                        detail::metric_text(factor));
        if (!(min_factor >= 0 && min_factor <= 1))
            throw std::invalid_argument("layerwise: ReduceLROnPlateau: min_factor must be in [0, 1], got " +
                                        detail::metric_text(min_factor));
        detail::require_min_delta(min_delta, "ReduceLROnPlateau");
        best_ = monitor_.worst();
        wait_ = cooling_ = reductions_ = 0;
        lr_factor_ = 1;
    }

    std::optional<std::string> on_epoch_end(const EpochRecord& record, bool) override {
        const double v = monitor_.value(record, "ReduceLROnPlateau");
        if (cooling_ > 0) {  // an epoch of the cooldown: not counted
            --cooling_;
            wait_ = 0;
        }
        if (monitor_.improves(v, best_, min_delta)) {
            best_ = v;
            wait_ = 0;
        } else if (cooling_ == 0 && ++wait_ >= std::max<std::size_t>(patience, 1) && lr_factor_ > min_factor) {
            lr_factor_ = std::max(lr_factor_ * factor, min_factor);  // lr = max(lr factor, min_lr)
            cooling_ = cooldown;
            wait_ = 0;
            ++reductions_;
        }
        return std::nullopt;
    }

    /// The product of the reductions so far (at least min_factor).
    double learning_rate_factor() const override { return lr_factor_; }
    bool changes_learning_rate() const override { return true; }

    /// The metric watched.
    const Monitor& monitor() const { return monitor_; }
    /// How many times the learning rate has been lowered.
    std::size_t reductions() const { return reductions_; }

private:
    Monitor monitor_;
    double best_ = monitor_.worst(), lr_factor_ = 1;
    std::size_t wait_ = 0, cooling_ = 0, reductions_ = 0;
};

/// Calls save(record) after every epoch whose monitored metric improves on the best so far by
/// more than min_delta, as Keras' ModelCheckpoint(save_best_only=True): with a save that writes
/// the network (io::keep_best), the file holds the best epoch's parameters.
class KeepBest : public Callback {
public:
    /// What saving is: called with the record of the improved epoch, the network as it ended.
    using Save = std::function<void(const EpochRecord&)>;
    double min_delta = 0;  ///< an improvement is by more than this

    /// Calls save when `monitor` (Monitor's names) improves.
    explicit KeepBest(Save save, std::string_view monitor = "val_loss")
        : save_(std::move(save)), monitor_(monitor) {}

    void reset() override {
        detail::require_min_delta(min_delta, "KeepBest");
        best_ = monitor_.worst();
        best_epoch_ = 0;
    }

    std::optional<std::string> on_epoch_end(const EpochRecord& record, bool replaying) override {
        const double v = monitor_.value(record, "KeepBest");
        if (!monitor_.improves(v, best_, min_delta)) return std::nullopt;
        best_ = v;
        best_epoch_ = record.epoch;
        if (!replaying && save_) save_(record);  // replaying: the file was written when it happened
        return std::nullopt;
    }

    /// The metric watched.
    const Monitor& monitor() const { return monitor_; }
    /// The best value so far.
    double best() const { return best_; }
    /// The epoch saved last: the best one (1-based; 0 before the first).
    std::size_t best_epoch() const { return best_epoch_; }

private:
    Save save_;
    Monitor monitor_;
    double best_ = monitor_.worst();
    std::size_t best_epoch_ = 0;
};

}  // namespace layerwise
