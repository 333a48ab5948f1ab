// layerwise/study/keras_history.hpp — a History as Keras 2.1 scripts save theirs:
// pandas.DataFrame(history.history).to_csv(), with Keras 2.1's metric names.
//
//   ,acc,loss,val_acc,val_loss
//   0,0.912,0.301,0.951,0.164       (row index from 0, numbers as %.9g)
#pragma once

#include "../train/history.hpp"

#include <cstdio>
#include <sstream>
#include <string>

namespace layerwise::study {

/// h as the CSV text a Keras 2.1 script saves (the top of this file).
inline std::string keras_history_csv(const History& h) {
    std::ostringstream out;
    out << ",acc,loss,val_acc,val_loss\n";
    char line[160];
    for (std::size_t i = 0; i < h.epochs.size(); ++i) {
        const EpochRecord& e = h.epochs[i];
        std::snprintf(line, sizeof line, "%zu,%.9g,%.9g,%.9g,%.9g\n", i, e.accuracy, e.loss, e.val_accuracy, e.val_loss);
        out << line;
    }
    return out.str();
}

}  // namespace layerwise::study
