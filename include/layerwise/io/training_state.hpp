// layerwise/io/training_state.hpp — checkpoints that resume: the network, the optimizer and
// where fit stands (train/training_state.hpp), in one .npz file written atomically after
// every epoch, so that a run that is killed or preempted goes on with the same bits.
//
//   io::TrainingCheckpoint checkpoint(out / "state.npz", net, optimizer);  // takes it up if it exists
//   History h = fit(net, optimizer, train, validation, checkpoint.options(fit_options));
//
// The file holds what save_npz writes (numpy.load opens it; the parameters under their
// Keras names), and
//   optimizer/__name__.npy                   the optimizer ("Adam"), uint8 text
//   optimizer/<parameter>/<slot>.npy         its accumulators ("optimizer/dense/kernel/m"), T
//   optimizer/<counter>.npy                  its counters ("optimizer/iterations"), int64 (1)
//   layers/<layer>/<counter>.npy             a layer's counters, from its visit_state
//                                            ("layers/dropout/draws": how many masks it drew), uint64 (1)
//   fit/epochs_done.npy, fit/global_step.npy, fit/seed.npy, fit/batch_size.npy   uint64 (1)
//   fit/shuffle_rng.npy                      the shuffle generator's state, uint8 text
//   fit/order.npy                            the samples in the last epoch's order, uint64 (n)
//   history/<column>.npy                     the completed epochs' records, float64 (epochs_done)
//                                            (history/learning_rate.npy may be absent: NaN)
//   attachments/<key>.npy                    TrainingState::attachments, uint8 text
// load_training_state reads and checks all of it (the network's signature, the optimizer's
// name, every size) before it changes anything: on any error the network and the optimizer
// are left as they were, and the CheckpointError names the file and the member.
// Link with -lzip, as npz.hpp.
#pragma once

#include "../train/fit.hpp"
#include "../train/training_state.hpp"
#include "npz.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerwise::io {

namespace detail {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// The largest text member (an attachment such as a recorder's CSV, which grows with depth x
// epochs) a state file may hold. save_training_state refuses a larger one before it writes
// anything, so a file it wrote is always one load_training_state reads; the bound stops a
// damaged directory from making the reader allocate without limit.
inline constexpr std::size_t max_text_bytes = std::size_t(1) << 28;  // 256 MiB

inline void add_text(ZipWriter& zip, const std::string& member, std::string_view text) {
    zip.add(member + ".npy", encode_npy(reinterpret_cast<const std::uint8_t*>(text.data()), {text.size()}));
}

template <class U>
void add_vector(ZipWriter& zip, const std::string& member, const std::vector<U>& v) {
    zip.add(member + ".npy", encode_npy(v.data(), {v.size()}));
}

// The 1-D array `member` of element type U, with `count` elements (any number if count is
// npos, at most max_count).
template <class U>
std::vector<U> read_vector(const ZipReader& zip, const std::string& file, const std::string& member,
                           std::size_t count, std::size_t max_count = std::size_t(1) << 32) {
    const std::string where = file + ": " + member + ".npy";
    const std::size_t limit = count == std::string::npos ? max_count : count;
    const std::string bytes = zip.read(member + ".npy", limit * sizeof(U) + 12 + 0xffff);
    const NpyArray a = decode_npy(bytes, where);  // (a views bytes)
    require_dtype<U>(a, where);
    if (a.shape.size() != 1 || (count != std::string::npos && a.shape[0] != count))
        throw CheckpointError(where + ": shape " + shape_text(a.shape) + ", expected (" +
                              (count == std::string::npos ? std::string("n") : std::to_string(count)) + ",)");
    std::vector<U> v(a.shape[0]);
    if (!v.empty()) std::memcpy(v.data(), a.data.data(), v.size() * sizeof(U));
    return v;
}

inline std::string read_text(const ZipReader& zip, const std::string& file, const std::string& member) {
    const std::vector<std::uint8_t> bytes = read_vector<std::uint8_t>(zip, file, member, std::string::npos, max_text_bytes);
    return std::string(bytes.begin(), bytes.end());
}

// The names of net's trainable parameters, in the order optimizers keep their accumulators.
template <class Net>
std::vector<std::string> trainable_names(Net& net) {
    std::vector<std::string> names;
    for_each_parameter<KerasNaming>(net, [&](const ParameterInfo& p, auto&, auto&) {
        if (p.trainable) names.emplace_back(p.name);
    });
    return names;
}

template <class Net>
std::vector<std::size_t> trainable_sizes(Net& net) {
    std::vector<std::size_t> sizes;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        if (p.trainable) sizes.push_back(value.size());
    });
    return sizes;
}

// Calls f("layers/<layer>/<counter>", value) for every counter of every layer with a
// visit_state (Dropout's draws), input to output: a std::uint64_t& the layer keeps.
struct CounterProbe {  // what a layer's visit_state is called with, for the requires below
    void operator()(std::string_view, std::uint64_t&) const {}
};
template <class Net, class F>
void for_each_layer_counter(Net& net, F&& f) {
    for_each_layer<KerasNaming>(net, [&](auto& layer, const LayerInfo& info) {
        if constexpr (requires { layer.visit_state(CounterProbe{}); })
            layer.visit_state([&](std::string_view counter, std::uint64_t& value) {
                f("layers/" + std::string(info.name) + "/" + std::string(counter), value);
            });
    });
}

// The history's columns, as they are stored, and the record's member each is.
inline constexpr std::pair<const char*, double EpochRecord::*> history_columns[] = {
    {"loss", &EpochRecord::loss},
    {"accuracy", &EpochRecord::accuracy},
    {"val_loss", &EpochRecord::val_loss},
    {"val_accuracy", &EpochRecord::val_accuracy},
    {"seconds", &EpochRecord::seconds},
    {"train_loss_inference", &EpochRecord::train_loss_inference},
    {"train_accuracy_inference", &EpochRecord::train_accuracy_inference},
    {"learning_rate", &EpochRecord::learning_rate},
};

// Columns a checkpoint written before they existed lacks: read as NaN (not measured).
inline bool optional_history_column(std::string_view column) { return column == "learning_rate"; }

}  // namespace detail

/// Writes the network, the optimizer's state and fit's state to the .npz file `file`,
/// atomically (the file is the old one or the complete new one).
template <class Net, class Optimizer>
void save_training_state(const std::filesystem::path& file, Net& net, Optimizer& optimizer,
                         const TrainingState& state) {
    using T = typename Net::scalar_type;
    const std::vector<std::string> names = detail::trainable_names(net);
    const std::vector<std::size_t> sizes = detail::trainable_sizes(net);
    for (const auto& [key, text] : state.attachments)
        if (text.size() > detail::max_text_bytes)
            throw CheckpointError(file.string() + ": attachments/" + key + ".npy: " + std::to_string(text.size()) +
                                  " bytes, more than the " + std::to_string(detail::max_text_bytes) +
                                  " a state file holds (the file is left as it was)");
    detail::write_zip_atomically(file, [&](ZipWriter& zip) {
        detail::add_network(zip, net);
        detail::add_text(zip, "optimizer/__name__", optimizer.name);  // static, or AnyOptimizer's choice
        optimizer.visit_state(detail::overloaded{
            [&](auto& accumulators) {
                auto& acc = accumulators.accumulators();
                for (std::size_t k = 0; k < names.size(); ++k)
                    for (std::size_t j = 0; j < accumulators.names().size(); ++j) {
                        const std::string member = "optimizer/" + names[k] + "/" + std::string(accumulators.names()[j]);
                        // before the first step there are none yet: they start at zero
                        if (k < acc.size()) detail::add_vector(zip, member, acc[k][j]);
                        else detail::add_vector(zip, member, std::vector<T>(sizes[k], T(0)));
                    }
            },
            [&](std::string_view counter, std::int64_t& value) {
                detail::add_vector(zip, "optimizer/" + std::string(counter), std::vector<std::int64_t>{value});
            }});
        detail::for_each_layer_counter(net, [&](const std::string& member, std::uint64_t& value) {
            detail::add_vector(zip, member, std::vector<std::uint64_t>{value});
        });
        for (auto [member, value] : {std::pair<const char*, std::uint64_t>{"epochs_done", state.epochs_done},
                                     {"global_step", state.global_step},
                                     {"seed", state.seed},
                                     {"batch_size", state.batch_size}})
            detail::add_vector(zip, std::string("fit/") + member, std::vector<std::uint64_t>{value});
        detail::add_text(zip, "fit/shuffle_rng", state.shuffle_rng);
        detail::add_vector(zip, "fit/order", state.order);
        std::vector<double> column(state.epochs.size());
        for (const auto& [name, field] : detail::history_columns) {
            for (std::size_t e = 0; e < column.size(); ++e) column[e] = state.epochs[e].*field;
            detail::add_vector(zip, std::string("history/") + name, column);
        }
        for (const auto& [key, text] : state.attachments) detail::add_text(zip, "attachments/" + key, text);
    });
}

/// Reads a file save_training_state wrote for a network of the same type and the same kind
/// of optimizer: sets the network's parameters and the optimizer's accumulators and counters,
/// and returns fit's state (FitOptions::resume_from). All or nothing: on any error (a
/// CheckpointError naming the file and the member) net and optimizer are unchanged.
template <class Net, class Optimizer>
TrainingState load_training_state(const std::filesystem::path& file, Net& net, Optimizer& optimizer) {
    using T = typename Net::scalar_type;
    const std::string name = file.string();
    const ZipReader zip(file);
    const std::vector<std::string> staged = detail::read_network(zip, net, name);

    if (const std::string saved = detail::read_text(zip, name, "optimizer/__name__"); saved != optimizer.name)
        throw CheckpointError(name + ": optimizer/__name__.npy: the state of " + saved + ", not of " +
                              std::string(optimizer.name));
    const std::vector<std::string> names = detail::trainable_names(net);
    const std::vector<std::size_t> sizes = detail::trainable_sizes(net);
    std::vector<std::vector<std::vector<T>>> accumulators;  // [parameter][slot]: (size)
    std::vector<std::int64_t> counters;
    optimizer.visit_state(detail::overloaded{
        [&](auto& state) {
            for (std::size_t k = 0; k < names.size(); ++k) {
                accumulators.emplace_back();
                for (std::string_view slot : state.names())
                    accumulators.back().push_back(
                        detail::read_vector<T>(zip, name, "optimizer/" + names[k] + "/" + std::string(slot), sizes[k]));
            }
        },
        [&](std::string_view counter, std::int64_t&) {
            counters.push_back(detail::read_vector<std::int64_t>(zip, name, "optimizer/" + std::string(counter), 1)[0]);
        }});

    std::vector<std::uint64_t> layer_counters;
    detail::for_each_layer_counter(net, [&](const std::string& member, std::uint64_t&) {
        layer_counters.push_back(detail::read_vector<std::uint64_t>(zip, name, member, 1)[0]);
    });

    TrainingState state;
    auto scalar = [&](const char* member) {
        return detail::read_vector<std::uint64_t>(zip, name, std::string("fit/") + member, 1)[0];
    };
    state.epochs_done = scalar("epochs_done");
    state.global_step = scalar("global_step");
    state.seed = scalar("seed");
    state.batch_size = scalar("batch_size");
    state.shuffle_rng = detail::read_text(zip, name, "fit/shuffle_rng");
    try {
        (void)state.generator();
    } catch (const std::invalid_argument&) {
        throw CheckpointError(name + ": fit/shuffle_rng.npy: not the state of a std::mt19937_64");
    }
    state.order = detail::read_vector<std::uint64_t>(zip, name, "fit/order", std::string::npos);
    state.epochs.resize(state.epochs_done);
    for (std::size_t e = 0; e < state.epochs.size(); ++e) state.epochs[e].epoch = e + 1;
    const std::vector<std::string> members = zip.names();
    for (const auto& [column, field] : detail::history_columns) {
        const std::string member = std::string("history/") + column;
        if (detail::optional_history_column(column) &&
            std::find(members.begin(), members.end(), member + ".npy") == members.end())
            continue;  // the record's default, NaN
        const std::vector<double> values =
            detail::read_vector<double>(zip, name, std::string("history/") + column, state.epochs_done);
        for (std::size_t e = 0; e < values.size(); ++e) state.epochs[e].*field = values[e];
    }
    for (const std::string& member : members)
        if (member.starts_with("attachments/") && member.ends_with(".npy")) {
            const std::string key = member.substr(12, member.size() - 12 - 4);
            state.attachments[key] = detail::read_text(zip, name, "attachments/" + key);
        }

    // All read and checked: change the network and the optimizer (nothing here can fail).
    detail::commit_network(net, staged);
    std::size_t c = 0;
    optimizer.visit_state(detail::overloaded{
        [&](auto& opt_state) {
            auto& acc = opt_state.accumulators();
            acc.resize(accumulators.size());
            for (std::size_t k = 0; k < acc.size(); ++k)
                for (std::size_t j = 0; j < acc[k].size(); ++j) acc[k][j] = std::move(accumulators[k][j]);
        },
        [&](std::string_view, std::int64_t& value) { value = counters[c++]; }});
    std::size_t l = 0;
    detail::for_each_layer_counter(net, [&](const std::string&, std::uint64_t& value) { value = layer_counters[l++]; });
    return state;
}

/// A run that resumes: the constructor takes up `file` when it exists (load_training_state;
/// with take_up false it starts afresh and overwrites the file), and options() makes fit go
/// on from there and save to `file` after every epoch. The checkpoint must outlive the fit it
/// configures.
template <class Net, class Optimizer>
class TrainingCheckpoint {
public:
    TrainingCheckpoint(std::filesystem::path file, Net& net, Optimizer& optimizer, bool take_up = true)
        : file_(std::move(file)), net_(net), optimizer_(optimizer) {
        if (take_up && std::filesystem::exists(file_)) state_ = load_training_state(file_, net_, optimizer_);
    }

    /// The state taken up from the file, or nullptr when there was none (a fresh start).
    const TrainingState* resumed() const { return state_ ? &*state_ : nullptr; }
    const std::filesystem::path& file() const { return file_; }

    /// `options` with resume_from set to the state taken up (if any), and on_epoch_state saving
    /// the state to the file, after any on_epoch_state already there, with the attachments
    /// `attach` returns (what must resume with it; TrainingState::attachments).
    FitOptions options(FitOptions options,
                       std::function<std::map<std::string, std::string>()> attach = {}) const {
        options.resume_from = resumed();
        options.on_epoch_state = [this, before = std::move(options.on_epoch_state),
                                  attach = std::move(attach)](const TrainingState& s) {
            if (before) before(s);
            if (!attach) return save_training_state(file_, net_, optimizer_, s);
            TrainingState with = s;
            with.attachments = attach();
            save_training_state(file_, net_, optimizer_, with);
        };
        return options;
    }

private:
    std::filesystem::path file_;
    Net& net_;
    Optimizer& optimizer_;
    std::optional<TrainingState> state_;
};

}  // namespace layerwise::io
