// docs/guide.md, section 12 (Callbacks): stopping early, lowering the learning rate on a
// plateau, keeping the best model, and a callback of one's own. Compiled and run as the test
// guide.callbacks.
#include "thirds.hpp"

#include <layerwise/io/keep_best.hpp>
#include <layerwise/layerwise.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

using namespace layerwise;
using guide::require, guide::quiet;

using Net = Sequential<Dense<2, 64>, ReLU, Dense<64, 64>, ReLU, Dense<64, 3>>;

namespace {
// A callback of one's own: stops training once the validation accuracy reaches `target`.
class StopAtAccuracy : public Callback {
public:
    explicit StopAtAccuracy(double target) : target_(target) {}
    void reset() override {}  // it keeps no state between epochs
    std::optional<std::string> on_epoch_end(const EpochRecord& record, bool) override {
        if (record.val_accuracy < target_) return std::nullopt;
        return "val_accuracy reached " + std::to_string(record.val_accuracy);
    }

private:
    double target_;
};
}  // namespace

int main() {
    const guide::Thirds data;
    const Samples<float> train_set = data.train(), val_set = data.val();

    // Early stopping: a rate far too high for Adam makes the validation loss stall; training
    // stops after `patience` epochs without a new best, and the history says why.
    Net net;
    init(net, 1);
    Adam<float> too_fast(0.05f);
    FitOptions options = quiet(40);
    options.callbacks = {std::make_shared<EarlyStopping>("val_loss", /*patience=*/3)};
    const History stopped = fit(net, too_fast, train_set, val_set, options);
    require(stopped.stopped_early.has_value(), "EarlyStopping stopped the run");
    std::printf("stopped after epoch %zu of 40: %s\n", stopped.stopped_early->epoch, stopped.stopped_early->why.c_str());

    // Reduce on plateau: the same run, its rate halved after every 2 epochs without a new best.
    Net reduced;
    init(reduced, 1);
    Adam<float> adam(0.05f);
    options = quiet(15);
    auto plateau = std::make_shared<ReduceLROnPlateau>("val_loss", /*factor=*/0.5, /*patience=*/2);
    options.callbacks = {plateau};
    const History lowered = fit(reduced, adam, train_set, val_set, options);
    for (const EpochRecord& r : lowered.epochs)
        std::printf("epoch %2zu: val_loss %.4f, learning rate %.6f\n", r.epoch, r.val_loss, r.learning_rate);
    const double last_rate = lowered.epochs.back().learning_rate;
    require(plateau->reductions() > 0 &&
                last_rate == double(static_cast<float>(0.05 * std::pow(0.5, double(plateau->reductions())))),
            "ReduceLROnPlateau halved the rate after each plateau");
    require(lowered.epochs.back().val_loss < stopped.epochs.back().val_loss,
            "the lowered rate reaches a smaller validation loss than the stopped run");

    // Keep the best: best.npz is rewritten after every epoch that improves val_accuracy, so it
    // holds the best epoch's parameters, whatever the epochs after it did.
    const std::filesystem::path best_file = "guide_best.npz";
    Net kept;
    init(kept, 2);
    Adam<float> adam_kept(0.05f);
    options = quiet(12);
    auto keep = io::keep_best(best_file, kept, "val_accuracy");
    options.callbacks = {keep};
    const History history = fit(kept, adam_kept, train_set, val_set, options);
    Net best;
    io::load_npz(best, best_file);
    const double best_recorded = history.epochs[keep->best_epoch() - 1].val_accuracy;
    const Evaluation again = evaluate(best, val_set, options.evaluation_batch_size);
    std::printf("best epoch %zu: val_accuracy %.4f; best.npz evaluates to %.4f; the last epoch had %.4f\n",
                keep->best_epoch(), best_recorded, again.accuracy, history.epochs.back().val_accuracy);
    require(again.accuracy == best_recorded, "best.npz holds the best epoch");
    std::filesystem::remove(best_file);

    // A callback of one's own, beside the library's.
    Net own;
    init(own, 1);
    Adam<float> adam_own(0.003f);
    options = quiet(30);
    options.callbacks = {std::make_shared<StopAtAccuracy>(0.985), std::make_shared<EarlyStopping>("val_loss", 5)};
    const History reached = fit(own, adam_own, train_set, val_set, options);
    require(reached.stopped_early && reached.epochs.back().val_accuracy >= 0.985, "StopAtAccuracy stopped at 0.985");
    std::printf("stopped after epoch %zu: %s\n", reached.stopped_early->epoch, reached.stopped_early->why.c_str());
    return 0;
}
