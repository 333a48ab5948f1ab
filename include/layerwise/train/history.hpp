// layerwise/train/history.hpp — what fit returns: one record per epoch, as Keras'
// History, plus where a run diverged. Written as CSV for people and for pandas.
#pragma once

#include "../io/atomic_file.hpp"

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace layerwise {

struct EpochRecord {
    std::size_t epoch = 0;  // 1-based, as Keras prints it
    double loss = 0, accuracy = 0;          // running means over the epoch's training batches
    double val_loss = 0, val_accuracy = 0;  // on the validation set, BatchNorm in inference mode
    double seconds = 0;                     // wall time of the epoch, validation included
    /// On a fixed subset of the training set, BatchNorm in inference mode, after the epoch
    /// (FitOptions::inference_train_samples; NaN when not measured). Against `accuracy`
    /// (train mode, while the weights move) it tells a training failure from an inference one.
    double train_loss_inference = std::numeric_limits<double>::quiet_NaN();
    double train_accuracy_inference = std::numeric_limits<double>::quiet_NaN();
};

struct Divergence {
    std::size_t epoch = 0;  // 1-based
    std::size_t step = 0;   // 1-based step within the epoch
    std::string what;       // "loss is nan", "gradient of dense_3/kernel is not finite", ...
};

struct History {
    std::vector<EpochRecord> epochs;        // completed epochs only
    std::optional<Divergence> divergence;   // set when training stopped on a non-finite value

    /// CSV with columns epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,
    /// train_loss_inference,train_accuracy_inference (the last two empty when not measured).
    /// A run that diverged ends with a row for that epoch whose numbers are empty (missing,
    /// not NaN) and whose status says where it stopped.
    std::string csv() const {
        std::ostringstream out;
        out << "epoch,loss,accuracy,val_loss,val_accuracy,seconds,status,train_loss_inference,train_accuracy_inference\n";
        char line[320];
        for (const EpochRecord& e : epochs) {
            std::snprintf(line, sizeof line, "%zu,%.9g,%.9g,%.9g,%.9g,%.3f,ok,", e.epoch, e.loss, e.accuracy,
                          e.val_loss, e.val_accuracy, e.seconds);
            out << line;
            if (!std::isnan(e.train_loss_inference)) {
                std::snprintf(line, sizeof line, "%.9g,%.9g", e.train_loss_inference, e.train_accuracy_inference);
                out << line;
            } else {
                out << ',';
            }
            out << '\n';
        }
        if (divergence)
            out << divergence->epoch << ",,,,,,diverged at step " << divergence->step << ": " << divergence->what
                << ",,\n";
        return out.str();
    }

    void write_csv(const std::filesystem::path& file) const { io::write_file_atomically(file, csv()); }
};

}  // namespace layerwise
