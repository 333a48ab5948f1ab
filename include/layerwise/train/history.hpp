// layerwise/train/history.hpp — what fit returns: one record per epoch, as Keras'
// History, plus where a run diverged or why it stopped early. Written as CSV for people and
// for pandas.
#pragma once

#include "../io/atomic_file.hpp"
#include "phase_times.hpp"

#include <cstddef>
#include <cstdio>
#include <limits>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace layerwise {

namespace detail {
// A CSV field: the number as %.9g, or empty for NaN (not measured).
inline std::string csv_number(double v) {
    if (std::isnan(v)) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", v);
    return text;
}
}  // namespace detail

/// One epoch of a History.
struct EpochRecord {
    std::size_t epoch = 0;  ///< 1-based, as Keras prints it
    /// loss and accuracy: running means over the epoch's training batches, in train mode.
    double loss = 0, accuracy = 0;          ///< running means over the epoch's training batches
    /// val_loss and val_accuracy: on the validation set after the epoch.
    double val_loss = 0, val_accuracy = 0;  ///< on the validation set, BatchNorm in inference mode
                                            ///< (accuracies: NaN for a loss without one, as regression's)
    double seconds = 0;                     ///< wall time of the epoch, validation included
    /// On a fixed subset of the training set, BatchNorm in inference mode, after the epoch
    /// (FitDiagnostics::inference_train_samples; NaN when not measured). Against `accuracy`
    /// (train mode, while the weights move) it tells a training failure from an inference one.
    double train_loss_inference = std::numeric_limits<double>::quiet_NaN();
    /// The accuracy on the same subset, the same way (see train_loss_inference).
    double train_accuracy_inference = std::numeric_limits<double>::quiet_NaN();
    /// The optimizer's learning rate in the epoch's last step, schedule and callbacks included
    /// (NaN for an optimizer without a learning_rate member).
    double learning_rate = std::numeric_limits<double>::quiet_NaN();
};

/// Where and why training stopped on a value that is not finite.
struct Divergence {
    std::size_t epoch = 0;  ///< 1-based
    std::size_t step = 0;   ///< 1-based step within the epoch
    std::string what;       ///< "loss is NaN", "gradient of dense_3/kernel is not finite", ...
};

/// Why training stopped before its last epoch on a callback's word (EarlyStopping).
struct EarlyStop {
    std::size_t epoch = 0;  ///< the last epoch trained, 1-based
    std::string why;        ///< "val_loss has not improved for 3 epochs (best 0.1234 in epoch 4)"
};

/// What fit returns: one record per completed epoch, as Keras' History, and where a run
/// diverged or why it stopped early.
struct History {
    std::vector<EpochRecord> epochs;        ///< completed epochs only
    std::optional<Divergence> divergence;   ///< set when training stopped on a non-finite value
    std::optional<EarlyStop> stopped_early; ///< set when a callback stopped training (callbacks.hpp)
    PhaseTimes times;                       ///< seconds in train_steps, evaluation and train_inference
                                            ///< (what fit's callbacks took is not in them)

    /// CSV with columns epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,
    /// train_loss_inference,train_accuracy_inference,learning_rate. A number that was not
    /// measured (NaN: the inference columns without FitDiagnostics::inference_train_samples, the
    /// accuracies of a regression) is an empty field. A run that diverged ends with a row for
    /// that epoch whose numbers are empty (missing, not NaN) and whose status says where it
    /// stopped; a run stopped early, with such a row for its last epoch whose status is
    /// "stopped early: " and why.
    std::string csv() const {
        std::ostringstream out;
        out << "epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,train_loss_inference,"
               "train_accuracy_inference,learning_rate\n";
        char line[384];
        for (const EpochRecord& e : epochs) {
            std::snprintf(line, sizeof line, "%zu,%s,%s,%s,%s,%.3f,ok,%s,%s,%s\n", e.epoch,
                          detail::csv_number(e.loss).c_str(), detail::csv_number(e.accuracy).c_str(),
                          detail::csv_number(e.val_loss).c_str(), detail::csv_number(e.val_accuracy).c_str(),
                          e.seconds, detail::csv_number(e.train_loss_inference).c_str(),
                          detail::csv_number(e.train_accuracy_inference).c_str(),
                          detail::csv_number(e.learning_rate).c_str());
            out << line;
        }
        if (divergence)
            out << divergence->epoch << ",,,,,,diverged at step " << divergence->step << ": " << divergence->what
                << ",,,\n";
        if (stopped_early) out << stopped_early->epoch << ",,,,,,stopped early: " << stopped_early->why << ",,,\n";
        return out.str();
    }

    /// Writes csv() to file atomically (a std::filesystem::path converts to the string).
    void write_csv(const std::string& file) const { io::write_file_atomically(file, csv()); }
};

}  // namespace layerwise
