// examples/seed_settings.hpp — the training settings that the seed study varies, one switch
// per suspected cause of the seed's early collapse, shared by train_mnist and gradient_study.
//
//   --numerics tf2|keras2.1          a preset of the next two (optim/keras_presets.hpp)
//   --rmsprop-epsilon inside|outside  RMSprop's epsilon inside or outside the root
//   --bn-debias on|off                BatchNorm's zero-debiased moving averages
//   --bn-momentum M                   BatchNorm's moving-average momentum (Keras: 0.99)
//   --init glorot_uniform|he_uniform|he_normal   the kernels' initialiser (Keras: glorot_uniform)
//
// A setting's label names what differs from TF2 Keras' defaults, joined by '+': "tf2" for
// none, "keras2.1" for both numerics parts, else e.g. "eps_outside", "debias", "bnmom0.9",
// "he_uniform", "keras2.1+he_normal". A run folder is named after the config, depth and seed,
// plus "-<label>" unless the label is "tf2".
#pragma once

#include <layerwise/init.hpp>
#include <layerwise/optim/keras_presets.hpp>
#include <layerwise/optim/numerics.hpp>
#include <layerwise/optim/rmsprop.hpp>

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

namespace layerwise::seed {

struct Settings {
    KerasNumerics numerics = keras_numerics(KerasVersion::tf2);
    double bn_momentum = 0.99;
    KernelInit init = KernelInit::glorot_uniform;

    bool operator==(const Settings&) const = default;

    std::string label() const {
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
        if (init != KernelInit::glorot_uniform) add(std::string(to_string(init)));
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

}  // namespace layerwise::seed
