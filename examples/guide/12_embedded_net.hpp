// The network of docs/guide.md, section 15 (Embedded): one type for the program that trains
// it (12_embedded_train.cpp) and the one that runs it from compiled-in weights (12_embedded.cpp).
#pragma once

#include <layerwise/core.hpp>

namespace embedded_guide {
using Net = layerwise::Sequential<layerwise::Dense<2, 64>, layerwise::BatchNorm<64>, layerwise::ReLU,
                                  layerwise::Dense<64, 64>, layerwise::BatchNorm<64>, layerwise::ReLU,
                                  layerwise::Dense<64, 3>>;
}  // namespace embedded_guide
