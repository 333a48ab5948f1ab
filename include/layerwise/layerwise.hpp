// layerwise/layerwise.hpp — the umbrella header: the core and every component. Link all of
// them: layerwise::layerwise, layerwise::io, layerwise::data and layerwise::diagnostics
// (pkg-config: layerwise layerwise-io layerwise-data layerwise-diagnostics). A program that
// needs only the core includes <layerwise/core.hpp> and links layerwise::layerwise.
#pragma once

#include "core.hpp"
#include "io/npz.hpp"              // layerwise::io: .npz checkpoints (libzip)
#include "data/mnist.hpp"          // layerwise::data: IDX and MNIST loaders (zlib)
#include "diagnostics/tensor_stats.hpp"  // layerwise::diagnostics
#include "diagnostics/tensorboard.hpp"
