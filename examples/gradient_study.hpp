// examples/gradient_study.hpp — what gradient_study.cpp and its per-config translation units
// share: the command line's options, what one run needs, and the declaration of the function
// that trains one run of config C (defined in gradient_study_run.hpp, instantiated once per
// config in a translation unit of its own, so that the configs compile in parallel).
#pragma once

#include "seed_settings.hpp"

#include <layerwise/data/mnist.hpp>
#include <layerwise/study/recorder.hpp>
#include <layerwise/train/phase_times.hpp>

#include <filesystem>
#include <mutex>
#include <string>

namespace gradient_study {

struct Options {
    std::string configs = "bn,plain,skip", depths = "10:40:5", seeds = "1";
    layerwise::seed::SettingsText settings;  // lists; empty: as the preset / Keras' default
    std::size_t epochs = 20, batch = 128, jobs = 0, threads = 0, grad_every = 0, probe = 1024, train_inference = 10000;
    std::string dataset = "mnist", data, out = "study", shard;  // shard empty: from the launcher, or all
    bool plan = false;
};

/// One run to train, and where.
struct RunContext {
    const Options& options;
    const layerwise::seed::Run& run;
    const layerwise::data::Split& split;
    const layerwise::study::ProbeBatch<float>& probe;
    std::mutex& print;               // held while a line is printed (runs in parallel share stdout)
    const std::filesystem::path& dir;  // the run's folder (under OUT/.incomplete/ while it runs)
};

/// Trains run (of config C) into dir with its recorder; returns the seconds of its phases.
template <layerwise::seed::Config C>
layerwise::PhaseTimes train_config(const RunContext& context);

}  // namespace gradient_study
