// examples/seed_settings.hpp — the training settings that the seed study varies, one switch
// per suspected cause of the seed's early collapse or candidate remedy, shared by train_mnist
// and gradient_study.
//
//   --numerics tf2|keras2.1          a preset of the next two (optim/keras_presets.hpp)
//   --rmsprop-epsilon inside|outside  RMSprop's epsilon inside or outside the root
//   --bn-debias on|off                BatchNorm's zero-debiased moving averages
//   --bn-momentum M                   BatchNorm's moving-average momentum (Keras: 0.99)
//   --init glorot_uniform|he_uniform|he_normal|lecun_normal|orthogonal   the kernels' initialiser
//                                     (default: the config's, seed::default_kernel_init: Keras'
//                                     glorot_uniform, LeCun-normal for selu)
//   --gain G                          multiplies every initial kernel (1; sqrt(2) = 1.41421 keeps an
//                                     orthogonal ReLU stack's norm)
//   --optimizer rmsprop|adam|adamw|sgd, --lr, --momentum (sgd)   the optimizer (the seed's:
//                                     RMSprop at Keras' defaults, lr 1e-3)
//   --clip-norm C                     the gradients clipped to global 2-norm C before each step (0: off)
//
// A setting's label names what differs from TF2 Keras' defaults and the config's initialiser,
// joined by '+' in the order above: "tf2" for none, "keras2.1" for both numerics parts, else
// e.g. "eps_outside", "debias", "bnmom0.9", "he_uniform", "orthogonal+gain1.41421", "adamw",
// "sgd_m0.9", "lr0.003", "clip1", "keras2.1+he_normal". A run (Run: config, depth, seed,
// settings) is named after the config, depth and seed, plus "-<label>" unless the label is
// "tf2"; settings_grid and run_grid make gradient_study's grid from its command line's lists,
// run_costs its cost model.
#pragma once

#include <layerwise/init.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/optim/any_optimizer.hpp>
#include <layerwise/optim/keras_presets.hpp>
#include <layerwise/optim/numerics.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/study/grid.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise::seed {

/// "%g" of v: the shortest spelling of a setting's number in a label ("0.003", "1.41421").
inline std::string number_label(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

/// The optimizer of a run, as the command lines choose it: one of AnyOptimizer's, with every
/// setting left at that optimizer's default unless given.
struct OptimizerSettings {
    std::string name = "rmsprop";         ///< rmsprop, adam, adamw or sgd
    std::optional<double> learning_rate;  ///< none: the optimizer's default
    double momentum = 0;                  ///< sgd's momentum in [0, 1)
    bool nesterov = false;                ///< sgd's Nesterov momentum
    std::optional<double> weight_decay;   ///< none: the optimizer's default

    bool operator==(const OptimizerSettings&) const = default;

    /// The optimizer's own learning rate when none is given: Keras' (SGD 0.01, the others 1e-3).
    double default_learning_rate() const { return name == "sgd" ? 0.01 : 1e-3; }
    /// The learning rate a run trains with.
    double effective_learning_rate() const { return learning_rate.value_or(default_learning_rate()); }

    /// Throws std::invalid_argument, naming the option, for a setting that does not apply to
    /// the optimizer or is out of range.
    void check() const {
        if (name != "rmsprop" && name != "adam" && name != "adamw" && name != "sgd")
            throw std::invalid_argument("--optimizer: '" + name + "' is none of rmsprop, adam, adamw and sgd");
        if ((momentum != 0 || nesterov) && name != "sgd")
            throw std::invalid_argument("--momentum and --nesterov apply to --optimizer sgd only, not " + name);
        if (nesterov && momentum == 0) throw std::invalid_argument("--nesterov needs --momentum greater than 0");
        if (!(momentum >= 0 && momentum < 1))
            throw std::invalid_argument("--momentum: " + number_label(momentum) + " is not a number in [0, 1)");
        if (learning_rate && !(*learning_rate > 0 && std::isfinite(*learning_rate)))
            throw std::invalid_argument("--lr: " + number_label(*learning_rate) + " is not a positive number");
    }

    /// The optimizer, with RMSprop's epsilon placed as `placement` says.
    AnyOptimizer<float> make(RMSpropEpsilon placement) const {
        check();
        auto set_up = [&](auto opt) -> AnyOptimizer<float> {
            if (learning_rate) opt.learning_rate = float(*learning_rate);
            if (weight_decay) opt.weight_decay = float(*weight_decay);
            if constexpr (requires { opt.nesterov; }) {
                opt.momentum = float(momentum);
                opt.nesterov = nesterov;
            }
            if constexpr (requires { opt.epsilon_placement; }) opt.epsilon_placement = placement;
            return opt;
        };
        if (name == "rmsprop") return set_up(RMSprop<float>());
        if (name == "adam") return set_up(Adam<float>());
        if (name == "adamw") return set_up(AdamW<float>());
        return set_up(SGD<float>());
    }

    /// Its part of a setting's label: "" for RMSprop at its defaults, else e.g. "adamw",
    /// "sgd_m0.9_nesterov", "lr0.003", "adam+lr0.0003+wd0.01".
    std::string label() const {
        std::string s = name == "rmsprop" ? "" : name;
        if (momentum != 0) s += "_m" + number_label(momentum);
        if (nesterov) s += "_nesterov";
        auto add = [&](const std::string& part) { s += (s.empty() ? "" : "+") + part; };
        if (learning_rate) add("lr" + number_label(*learning_rate));
        if (weight_decay) add("wd" + number_label(*weight_decay));
        return s;
    }
};

struct Settings {
    KerasNumerics numerics = keras_numerics(KerasVersion::tf2);
    double bn_momentum = 0.99;
    std::optional<KernelInit> init;  // none: the config's (make_run settles it)
    double gain = 1;                 // multiplies every initial kernel
    OptimizerSettings optimizer;
    double clip_norm = 0;  // the gradients' global 2-norm is clipped to this before each step; 0: off

    bool operator==(const Settings&) const = default;

    /// The label (the top of this file) of these settings on a network of configuration c.
    std::string label(Config c) const {
        std::string s;
        auto add = [&](const std::string& part) {
            if (!part.empty()) s += (s.empty() ? "" : "+") + part;
        };
        if (numerics == keras_numerics(KerasVersion::keras2_1)) add("keras2.1");
        else {
            if (numerics.rmsprop_epsilon == RMSpropEpsilon::outside) add("eps_outside");
            if (numerics.bn_debias) add("debias");
        }
        if (bn_momentum != 0.99) add("bnmom" + number_label(bn_momentum));
        if (init && *init != default_kernel_init(c)) add(std::string(to_string(*init)));
        if (gain != 1) add("gain" + number_label(gain));
        add(optimizer.label());
        if (clip_norm != 0) add("clip" + number_label(clip_norm));
        return s.empty() ? "tf2" : s;
    }

    /// The preset these numerics parts are, or "custom".
    std::string preset() const {
        if (numerics == keras_numerics(KerasVersion::tf2)) return "tf2";
        if (numerics == keras_numerics(KerasVersion::keras2_1)) return "keras2.1";
        return "custom";
    }

    /// The initialiser's plan: the kernel scheme (the config's unless chosen) times the gain.
    InitPlan init_plan(Config c) const { return {init.value_or(default_kernel_init(c)), gain}; }

    /// Sets every BatchNorm of net to these settings (the initialiser is init's argument).
    template <class Net>
    void apply(Net& net) const {
        set_bn_debias(net, numerics.bn_debias);
        set_bn_momentum(net, bn_momentum);
    }

    /// The optimizer these settings choose, RMSprop's epsilon placed as the numerics say.
    AnyOptimizer<float> make_optimizer() const { return optimizer.make(numerics.rmsprop_epsilon); }
};

inline bool parse_on_off(const std::string& s, const char* option) {
    if (s == "on") return true;
    if (s == "off") return false;
    throw std::invalid_argument(std::string(option) + ": '" + s + "' is neither on nor off");
}

/// A number from the command line, in [min, max) (or [min, max] with max_included): the
/// message otherwise names the option and the range.
inline double parse_number(const std::string& s, const char* option, double min, double max, bool max_included = false) {
    std::size_t used = 0;
    double v = std::nan("");
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const bool in_range = v >= min && (max_included ? v <= max : v < max);
    if (used != s.size() || !in_range || !std::isfinite(v)) {
        const std::string range = "[" + number_label(min) + ", " +
                                  (std::isinf(max) ? std::string("inf)") : number_label(max) + (max_included ? "]" : ")"));
        throw std::invalid_argument(std::string(option) + ": '" + s + "' is not a number in " + range);
    }
    return v;
}

/// The settings as the command lines spell them: one value each for make_settings, a
/// comma-separated list each for settings_grid; "" leaves a setting at its default.
struct SettingsText {
    std::string numerics = "tf2", rmsprop_epsilon, bn_debias, bn_momentum, init, gain, optimizer, lr, momentum,
                clip_norm;
};

/// One setting from the preset and the optional overrides of its parts and the rest, as
/// the command-line tools spell them (an empty string: not given).
inline Settings make_settings(const SettingsText& t) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    Settings s;
    s.numerics = keras_numerics(parse_keras_version(t.numerics));
    if (!t.rmsprop_epsilon.empty()) s.numerics.rmsprop_epsilon = parse_rmsprop_epsilon(t.rmsprop_epsilon);
    if (!t.bn_debias.empty()) s.numerics.bn_debias = parse_on_off(t.bn_debias, "--bn-debias");
    if (!t.bn_momentum.empty()) s.bn_momentum = parse_number(t.bn_momentum, "--bn-momentum", 0, 1);
    if (!t.init.empty()) s.init = parse_kernel_init(t.init);
    if (!t.gain.empty()) s.gain = parse_number(t.gain, "--gain", 0, inf);
    if (!t.optimizer.empty()) s.optimizer.name = t.optimizer;
    if (!t.lr.empty()) s.optimizer.learning_rate = parse_number(t.lr, "--lr", 0, inf);
    if (!t.momentum.empty()) s.optimizer.momentum = parse_number(t.momentum, "--momentum", 0, 1);
    if (!t.clip_norm.empty()) s.clip_norm = parse_number(t.clip_norm, "--clip-norm", 0, inf);
    if (s.gain == 0) throw std::invalid_argument("--gain: 0 would make every kernel zero");
    if (s.optimizer.learning_rate == 0.0) throw std::invalid_argument("--lr: 0 would not train");
    s.optimizer.check();
    return s;
}

/// Every combination of the listed values ("a,b" each; "" for the default), each distinct
/// setting once, in order (the last field varies fastest): the settings axis of
/// gradient_study's grid.
inline std::vector<Settings> settings_grid(const SettingsText& lists) {
    std::array<std::string SettingsText::*, 10> fields = {
        &SettingsText::numerics, &SettingsText::rmsprop_epsilon, &SettingsText::bn_debias, &SettingsText::bn_momentum,
        &SettingsText::init,     &SettingsText::gain,            &SettingsText::optimizer, &SettingsText::lr,
        &SettingsText::momentum, &SettingsText::clip_norm};
    std::array<std::vector<std::string>, fields.size()> values;
    for (std::size_t f = 0; f < fields.size(); ++f) values[f] = study::split_names(lists.*fields[f]);
    std::vector<Settings> out;
    std::array<std::size_t, fields.size()> at{};  // an odometer over the lists
    for (;;) {
        SettingsText one;
        for (std::size_t f = 0; f < fields.size(); ++f) one.*fields[f] = values[f][at[f]];
        const Settings s = make_settings(one);
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
        std::size_t f = fields.size();
        while (f > 0 && ++at[f - 1] == values[f - 1].size()) at[--f] = 0;
        if (f == 0) return out;
    }
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
            {"bn_momentum", st.bn_momentum}, {"init", st.init ? to_string(*st.init) : "default"},
            {"gain", st.gain}, {"optimizer", st.optimizer.name},
            {"learning_rate", st.optimizer.effective_learning_rate()}, {"momentum", st.optimizer.momentum},
            {"clip_norm", st.clip_norm}};
}

/// The run, with the settings that do not apply to it at their defaults (a network without
/// BatchNorm: BatchNorm's; an optimizer other than RMSprop: the epsilon's placement) and a
/// learning rate equal to the optimizer's default as not given, so that it has the same name
/// as the run without them, and its initialiser settled (the config's unless one was chosen).
inline Run make_run(Config config, std::size_t depth, std::uint64_t seed, Settings settings) {
    if (!has_batch_norm(config)) {
        settings.numerics.bn_debias = false;
        settings.bn_momentum = 0.99;
    }
    if (settings.optimizer.name != "rmsprop") settings.numerics.rmsprop_epsilon = RMSpropEpsilon::inside;
    OptimizerSettings& o = settings.optimizer;
    if (o.learning_rate && float(*o.learning_rate) == float(o.default_learning_rate())) o.learning_rate.reset();
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

/// Each run's estimated cost, for the shard plan: parameters x epochs (a step's work is
/// proportional to the parameters, and every run sees the same samples per epoch). The count is
/// the network type's (Net::parameter_count), so that planning builds no network.
inline std::vector<double> run_costs(const std::vector<Run>& runs, std::size_t epochs) {
    std::vector<double> out;
    for (const Run& r : runs) {
        std::size_t parameters = 0;
        with_seed_network(r.config, r.depth, [&]<class Net>() { parameters = Net::parameter_count; });
        out.push_back(double(parameters) * double(epochs));
    }
    return out;
}

}  // namespace layerwise::seed
