// layerwise/layerwise.hpp — the umbrella header: the core and every component. Link all of
// them: layerwise::layerwise, layerwise::io, layerwise::data and layerwise::diagnostics
// (pkg-config: layerwise layerwise-io layerwise-data layerwise-diagnostics). A program that
// needs only the core includes <layerwise/core.hpp> and links layerwise::layerwise.

/// \namespace layerwise::io
/// Files: .npz checkpoints (io/npz.hpp; link layerwise::io) and, in the core, writing a file
/// atomically (io/atomic_file.hpp).

/// \namespace layerwise::data
/// IDX files and the MNIST and Fashion-MNIST data sets (data/; link layerwise::data).

/// \namespace layerwise::diagnostics
/// Tensor statistics and TensorBoard event files (diagnostics/; link layerwise::diagnostics).

/// \namespace layerwise::diagnostics::wire
/// The protocol buffer wire format, as far as TensorBoard's event files need it.

/// \namespace layerwise::study
/// A study's machinery: per-layer records, runs in folders, shards (study/; link
/// layerwise::diagnostics; not included here).

/// \namespace layerwise::seed
/// The seed study's three networks (models/; not included here).
#pragma once

#include "core.hpp"
#include "io/npz.hpp"              // layerwise::io: .npz checkpoints (libzip)
#include "io/keep_best.hpp"        // the best model of a run, as an .npz
#include "data/mnist.hpp"          // layerwise::data: IDX and MNIST loaders (zlib)
#include "diagnostics/tensor_stats.hpp"  // layerwise::diagnostics
#include "diagnostics/tensorboard.hpp"
