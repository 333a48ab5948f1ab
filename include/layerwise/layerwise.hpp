// layerwise/layerwise.hpp — the umbrella header: everything a user needs to build,
// initialise, train and inspect a network whose structure is a type.
#pragma once

#include "tensor.hpp"
#include "concepts.hpp"
#include "layers/dense.hpp"
#include "layers/batch_norm.hpp"
#include "layers/activation.hpp"
#include "compose/sequential.hpp"
#include "compose/residual.hpp"
#include "compose/repeat.hpp"
#include "loss/softmax_cross_entropy.hpp"
#include "visit.hpp"
#include "init.hpp"
#include "summary.hpp"
#include "optim/numerics.hpp"
#include "optim/sgd.hpp"
#include "optim/rmsprop.hpp"
#include "optim/adam.hpp"
#include "train/fit.hpp"
