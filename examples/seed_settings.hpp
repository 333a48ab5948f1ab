// examples/seed_settings.hpp — the training settings that the seed study varies, one switch
// per suspected cause of the seed's early collapse, shared by train_mnist and gradient_study.
//
//   --numerics tf2|keras2.1          a preset of the next two (optim/keras_presets.hpp)
//   --rmsprop-epsilon inside|outside  RMSprop's epsilon inside or outside the root
//   --bn-debias on|off                BatchNorm's zero-debiased moving averages
//   --bn-momentum M                   BatchNorm's moving-average momentum (Keras: 0.99)
//   --init glorot_uniform|he_uniform|he_normal|lecun_normal|orthogonal   the kernels' initialiser
//                                     (default: the config's, seed::default_kernel_init: Keras'
//                                     glorot_uniform, LeCun-normal for selu)
//
// A setting's label names what differs from TF2 Keras' defaults and the config's initialiser,
// joined by '+': "tf2" for none, "keras2.1" for both numerics parts, else e.g. "eps_outside",
// "debias", "bnmom0.9", "he_uniform", "keras2.1+he_normal". A run (Run: config, depth, seed, settings) is named after
// the config, depth and seed, plus "-<label>" unless the label is "tf2"; settings_grid and
// run_grid make gradient_study's grid from its command line's lists, run_costs its cost model.
#pragma once

#include <layerwise/init.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/optim/keras_presets.hpp>
#include <layerwise/optim/numerics.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/study/grid.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise::seed {

struct Settings {
    KerasNumerics numerics = keras_numerics(KerasVersion::tf2);
    double bn_momentum = 0.99;
    std::optional<KernelInit> init;  // none: the config's (make_run settles it)

    bool operator==(const Settings&) const = default;

    /// The label (the top of this file) of these settings on a network of configuration c.
    std::string label(Config c) const {
        std::string s;
        auto add = [&](const std::string& part) { s += (s.empty() ? "" : "+") + part; };
        if (numerics == keras_numerics(KerasVersion::keras2_1)) add("keras2.1");
        else {
            if (numerics.rmsprop_epsilon == RMSpropEpsilon::outside) add("eps_outside");
            if (numerics.bn_debias) add("debias");
        }
        if (bn_momentum != 0.99) {
            char m[32];
            std::snprintf(m, sizeof m, "bnmom%g", bn_momentum);
            add(m);
        }
        if (init && *init != default_kernel_init(c)) add(std::string(to_string(*init)));
        return s.empty() ? "tf2" : s;
    }

    /// The preset these numerics parts are, or "custom".
    std::string preset() const {
        if (numerics == keras_numerics(KerasVersion::tf2)) return "tf2";
        if (numerics == keras_numerics(KerasVersion::keras2_1)) return "keras2.1";
        return "custom";
    }

    /// Sets every BatchNorm of net to these settings (the initialiser is init's argument).
    template <class Net>
    void apply(Net& net) const {
        set_bn_debias(net, numerics.bn_debias);
        set_bn_momentum(net, bn_momentum);
    }

    template <class T>
    void apply(RMSprop<T>& optimizer) const {
        optimizer.epsilon_placement = numerics.rmsprop_epsilon;
    }
};

inline bool parse_on_off(const std::string& s, const char* option) {
    if (s == "on") return true;
    if (s == "off") return false;
    throw std::invalid_argument(std::string(option) + ": '" + s + "' is neither on nor off");
}

inline double parse_momentum(const std::string& s, const char* option) {
    std::size_t used = 0;
    double m = -1;
    try {
        m = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != s.size() || !(m >= 0 && m < 1))
        throw std::invalid_argument(std::string(option) + ": '" + s + "' is not a number in [0, 1)");
    return m;
}

/// One setting from the preset and the optional overrides of its parts and the rest, as
/// the command-line tools spell them (an empty string: not given).
inline Settings make_settings(const std::string& numerics, const std::string& rmsprop_epsilon,
                              const std::string& bn_debias, const std::string& bn_momentum, const std::string& init) {
    Settings s;
    s.numerics = keras_numerics(parse_keras_version(numerics));
    if (!rmsprop_epsilon.empty()) s.numerics.rmsprop_epsilon = parse_rmsprop_epsilon(rmsprop_epsilon);
    if (!bn_debias.empty()) s.numerics.bn_debias = parse_on_off(bn_debias, "--bn-debias");
    if (!bn_momentum.empty()) s.bn_momentum = parse_momentum(bn_momentum, "--bn-momentum");
    if (!init.empty()) s.init = parse_kernel_init(init);
    return s;
}

/// Every combination of the listed values ("a,b" each; "" for the default), each distinct
/// setting once, in order: the settings axis of gradient_study's grid.
inline std::vector<Settings> settings_grid(const std::string& numerics, const std::string& rmsprop_epsilon,
                                           const std::string& bn_debias, const std::string& bn_momentum,
                                           const std::string& init) {
    std::vector<Settings> out;
    for (const std::string& n : study::split_names(numerics))
        for (const std::string& e : study::split_names(rmsprop_epsilon))
            for (const std::string& d : study::split_names(bn_debias))
                for (const std::string& m : study::split_names(bn_momentum))
                    for (const std::string& i : study::split_names(init)) {
                        const Settings s = make_settings(n, e, d, m, i);
                        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
                    }
    return out;
}

/// One run of the study: a network, a seed and its settings.
struct Run {
    Config config;
    std::size_t depth;
    std::uint64_t seed;
    Settings settings;
    /// Its folder's name: "<config>-d<depth>-s<seed>", plus "-<label>" unless the label is "tf2".
    std::string name() const {
        const std::string label = settings.label(config);
        return std::string(config_names[int(config)]) + "-d" + std::to_string(depth) + "-s" + std::to_string(seed) +
               (label == "tf2" ? "" : "-" + label);
    }
};

/// What run.json says of a run before it is trained: its network, seed and every setting.
inline nlohmann::ordered_json describe(const Run& run) {
    const Settings& st = run.settings;
    return {{"config", config_names[int(run.config)]}, {"depth", run.depth}, {"seed", run.seed},
            {"setting", st.label(run.config)}, {"numerics", st.preset()},
            {"rmsprop_epsilon", to_string(st.numerics.rmsprop_epsilon)}, {"bn_debias", st.numerics.bn_debias},
            {"bn_momentum", st.bn_momentum}, {"init", st.init ? to_string(*st.init) : "default"}};
}

/// The run, with the settings that do not apply to its network at their defaults (a network
/// without BatchNorm: BatchNorm's), so that it has the same name as the run without them, and
/// its initialiser settled (the config's unless one was chosen).
inline Run make_run(Config config, std::size_t depth, std::uint64_t seed, Settings settings) {
    if (!has_batch_norm(config)) {
        settings.numerics.bn_debias = false;
        settings.bn_momentum = 0.99;
    }
    if (!settings.init) settings.init = default_kernel_init(config);
    return {config, depth, seed, settings};
}

/// The grid: settings x configs x depths x seeds, in that order, each run once (make_run:
/// a setting that does not apply to a network names the same run as the default).
inline std::vector<Run> run_grid(const std::vector<Settings>& settings, const std::vector<std::string>& configs,
                                 const std::vector<std::size_t>& depth_list, const std::vector<std::size_t>& seed_list) {
    std::vector<Run> runs;
    for (const Settings& st : settings)
        for (const std::string& c : configs)
            for (std::size_t d : depth_list)
                for (std::size_t s : seed_list) {
                    const Run run = make_run(parse_config(c), d, s, st);
                    if (std::none_of(runs.begin(), runs.end(), [&](const Run& r) { return r.name() == run.name(); }))
                        runs.push_back(run);
                }
    return runs;
}

/// Each run's estimated cost, for the shard plan: trainable parameters x epochs (a step's work
/// is proportional to the parameters, and every run sees the same samples per epoch).
inline std::vector<double> run_costs(const std::vector<Run>& runs, std::size_t epochs) {
    std::map<std::pair<Config, std::size_t>, double> trainable;  // a network is built once per (config, depth)
    std::vector<double> out;
    for (const Run& r : runs) {
        const auto [it, fresh] = trainable.try_emplace({r.config, r.depth}, 0.0);
        if (fresh) it->second = double(trainable_parameters(r.config, r.depth));
        out.push_back(it->second * double(epochs));
    }
    return out;
}

}  // namespace layerwise::seed
