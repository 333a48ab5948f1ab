// layerwise/io/checkpoint_error.hpp — the one exception the checkpoint readers and writers throw.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <stdexcept>

namespace layerwise::io {

/// Thrown by save_npz and load_npz (and the .npy and zip layers below them). The message
/// names the file and, when the trouble is in one array, the member:
///   "model.npz: dense_3/kernel.npy: shape (128, 64), expected (128, 128)"
class CheckpointError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace layerwise::io
