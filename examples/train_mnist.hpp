// examples/train_mnist.hpp — what train_mnist.cpp and its per-config translation units share:
// the command line's options and the declaration of the function that trains config C
// (defined in train_mnist_run.hpp, instantiated once per config in a translation unit of its
// own, so that the configs compile in parallel).
#pragma once

#include "seed_settings.hpp"

#include <layerwise/data/mnist.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace train_mnist {

struct Options {
    std::string config = "bn";
    std::size_t depth = 10;
    std::size_t epochs = 5;
    std::size_t batch = 128;
    std::string optimizer = "rmsprop";
    double lr = 0;  // 0: the optimizer's default
    std::optional<double> momentum, weight_decay;  // unset: the optimizer's default
    bool nesterov = false;
    double clip_norm = 0;  // 0: no clipping
    std::string lr_schedule = "constant";
    std::string monitor = "val_loss";
    std::size_t early_stopping = 0, reduce_lr_on_plateau = 0;  // patience in epochs; 0: off
    double reduce_lr_factor = 0.1;
    bool keep_best = false;
    std::uint64_t seed = 1;
    std::string dataset = "mnist";
    std::string data;
    std::string out;
    std::string numerics = "tf2";
    std::string rmsprop_epsilon, bn_debias, bn_momentum, init, gain;  // empty: as the preset / Keras' default
    std::size_t train_inference = 10000;
    bool quiet = false;
    bool resume = false;
    std::size_t threads = 1;
};

/// Trains the network of config C at o.depth with settings on split, into out; returns the
/// program's exit status (0, or 3 when training diverged).
template <layerwise::seed::Config C>
int train_config(const Options& o, const layerwise::seed::Settings& settings, const layerwise::data::Split& split,
                 const std::filesystem::path& out);

}  // namespace train_mnist
