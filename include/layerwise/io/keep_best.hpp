// layerwise/io/keep_best.hpp — the best model of a run in an .npz file, as Keras'
// ModelCheckpoint(save_best_only=True):
//
//   options.callbacks.push_back(io::keep_best(out / "best.npz", net));          // val_loss
//   options.callbacks.push_back(io::keep_best(out / "best.npz", net, "val_accuracy"));
//
// After every epoch whose monitored metric improves on the best so far, save_npz writes the
// network to the file, atomically (the file is the old best or the complete new one), so it
// holds the parameters of the best epoch; load_npz reads them back. A resumed run does not
// write it again for the epochs it replays (train/callbacks.hpp). Link with -lzip, as npz.hpp.
#pragma once

#include "../train/callbacks.hpp"
#include "npz.hpp"

#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>

namespace layerwise::io {

/// A KeepBest callback (train/callbacks.hpp) that saves net to `file` with save_npz whenever
/// `monitor` improves (the top of this file). net must outlive the fits it is given to.
template <class Net>
std::shared_ptr<KeepBest> keep_best(std::filesystem::path file, Net& net, std::string_view monitor = "val_loss") {
    return std::make_shared<KeepBest>([file = std::move(file), &net](const EpochRecord&) { save_npz(net, file); },
                                      monitor);
}

}  // namespace layerwise::io
