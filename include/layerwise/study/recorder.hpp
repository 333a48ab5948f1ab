// layerwise/study/recorder.hpp — what a gradient study records about one network while it
// trains: per-layer statistics of gradients, activations and backward errors on a fixed probe
// batch, BatchNorm's moving-vs-batch statistics, the probe's loss in both modes, and
// TensorBoard histograms. Any network layerwise can train, float or double, gets the same files:
//
//   study::Recorder rec(net, probe_x, probe_y, dir);   // records the network at initialisation
//   History h = fit(net, optimizer, train, validation, options,
//                   rec.diagnostics());                 // records after every epoch (and live steps)
//   rec.write();                                        // gradients.csv, probe.csv, bn_stats.csv
//
// Files, in dir:
//   gradients.csv  epoch,step,source,tensor,layer_index,kind,n,l2,rms,mean,std,max_abs,
//                  zero_fraction,positive,negative,zeros,nonfinite,h00..h29: one row per
//                  trainable gradient (kind kernel, bias, gamma, beta), per leaf layer's output
//                  (activation) and input gradient (input_gradient); source "probe" (the probe
//                  batch, after each epoch and at epoch 0: initialisation) or "live" (the
//                  training batch, every `live_every` steps);
//   bn_stats.csv   per BatchNorm layer and epoch, how far its moving statistics are from the
//                  probe batch's: mean_shift = |moving_mean - mu| / sqrt(var + eps) and
//                  log_var_ratio = log((moving_var + eps) / (var + eps)), median and largest
//                  over the features (only for networks with BatchNorm);
//   probe.csv      the probe batch's loss and accuracy with the same weights in train mode
//                  and in inference mode: their gap is BatchNorm's statistics and nothing else;
//   events.out.tfevents.*  loss, accuracy and each gradient's histogram on the probe, per epoch.
//
// The probe runs on the recorder's own copy of the network, unfused (compose/unfused.hpp), so
// that every layer forms its own output and input gradient and the training network is left
// as it was. Live rows read the training network as it is: a fused pair (BatchNorm+ReLU) forms
// only the pair's input gradient (its first layer's row) and output (its second layer's row).
//
// times() says how long each part took: probe (its forwards and backward), statistics,
// tensorboard and files (PhaseTimes, train/phase_times.hpp; fit's History has the rest).
#pragma once

#include "../compose/unfused.hpp"
#include "../diagnostics/tensor_stats.hpp"
#include "../diagnostics/tensorboard.hpp"
#include "../io/atomic_file.hpp"
#include "../loss/softmax_cross_entropy.hpp"
#include "../train/fit.hpp"
#include "../visit.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise::study {

/// A fixed probe batch: a copy of the first n samples of a data set (all of them, if fewer).
template <class T>
struct ProbeBatch {
    Matrix<T> x;         // (n x features)
    std::vector<int> y;  // (n)
    ProbeBatch(const Matrix<T>& samples, std::span<const int> labels, std::size_t n) {
        n = std::min({n, samples.shape(0), labels.size()});
        const std::size_t features = samples.shape(1);
        x = zeros<T>(n, features);
        std::copy(samples.data(), samples.data() + n * features, x.data());
        y.assign(labels.begin(), labels.begin() + std::ptrdiff_t(n));
    }
};

inline std::string gradients_header() {
    std::string h = "epoch,step,source,tensor,layer_index,kind,n,l2,rms,mean,std,max_abs,zero_fraction,positive,"
                    "negative,zeros,nonfinite";
    for (std::size_t b = 0; b < diagnostics::TensorStats::bins; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, ",h%02zu", b);
        h += name;
    }
    return h + "\n";
}

inline std::string bn_stats_header() {
    return "epoch,layer_index,layer,mean_shift_median,mean_shift_max,log_var_ratio_median,log_var_ratio_max_abs\n";
}

inline std::string probe_header() {
    return "epoch,loss_train_mode,accuracy_train_mode,loss_inference,accuracy_inference\n";
}

namespace detail {

template <class Tensor>
auto span_of(const Tensor& t) {
    return std::span(t.data(), t.size());
}

// One row of gradients.csv.
inline void stats_row(std::ostream& out, std::size_t epoch, std::size_t step, const char* source,
                      std::string_view tensor, std::size_t layer_index, std::string_view kind,
                      const diagnostics::TensorStats& s) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%zu,%zu,%s,%.*s,%zu,%.*s,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%zu,%zu,%zu,%zu", epoch,
                  step, source, int(tensor.size()), tensor.data(), layer_index, int(kind.size()), kind.data(), s.n,
                  s.l2, s.rms, s.mean, s.std, s.max_abs, s.zero_fraction, s.positive, s.negative, s.zeros, s.nonfinite);
    out << buf;
    for (auto h : s.histogram) out << ',' << h;
    out << '\n';
}

// A leaf layer as the walk of the network names it (visit.hpp).
struct Leaf {
    std::string name;
    std::size_t index;
};

template <class Net>
std::vector<Leaf> leaves_of(Net& net) {
    std::vector<Leaf> out;
    for_each_layer(net, [&](auto&, const LayerInfo& li) { out.push_back({std::string(li.name), li.index}); });
    return out;
}

// A layer that runs two layers as one (compose/fusion.hpp) and forms only the pair's output
// and input gradient.
template <class L>
concept FusedPair = CompositeLayer<L> && !LeafLayer<L> && requires(L& l) {
    l.first;
    l.second;
    l.output();
    l.input_gradient();
};

template <class L>
std::size_t leaf_count(L& layer) {
    std::size_t n = 0;
    if constexpr (CompositeLayer<L>) layer.visit_children([&](auto& child) { n += leaf_count(child); });
    if constexpr (LeafLayer<L>) ++n;
    return n;
}

// Calls f(leaf, output, input_gradient) for every leaf layer in walk order, each a pointer to
// what the layer formed in the last forward and backward, or null for what it did not form:
// in a fused pair, the first layer gets the pair's input gradient, the last its output.
template <class L, class F>
void walk_signals(L& layer, const std::vector<Leaf>& leaves, std::size_t& k, F& f) {
    using M = const Matrix<typename L::scalar_type>*;
    if constexpr (FusedPair<L>) {
        const std::size_t first = k;
        k += leaf_count(layer.first) + leaf_count(layer.second);
        f(leaves.at(first), M(nullptr), M(&layer.input_gradient()));
        f(leaves.at(k - 1), M(&layer.output()), M(nullptr));
    } else {
        if constexpr (CompositeLayer<L>) layer.visit_children([&](auto& child) { walk_signals(child, leaves, k, f); });
        if constexpr (LeafLayer<L>) {
            M output = nullptr, input_gradient = nullptr;
            if constexpr (requires { layer.output(); }) output = &layer.output();
            if constexpr (requires { layer.input_gradient(); }) input_gradient = &layer.input_gradient();
            f(leaves.at(k++), output, input_gradient);
        }
    }
}

}  // namespace detail

/// Records one network's training into the folder dir (see the top of this file). The
/// network and the probe batch must outlive the recorder.
template <class Net>
class Recorder {
public:
    using T = typename Net::scalar_type;

    /// Records the network as it is now (epoch 0: signal propagation at initialisation).
    /// `live_every` > 0 also records the training batch every that many steps. With `resumed`
    /// (a training state saved with progress() attached, io/training_state.hpp), it goes on
    /// from there instead: the rows recorded so far, and the event file in dir cut back to
    /// the events of the epochs the state has completed.
    Recorder(Net& net, const Matrix<T>& probe_x, std::span<const int> probe_y, std::filesystem::path dir,
             std::size_t live_every = 0, const TrainingState* resumed = nullptr)
        : net_(net), twin_(std::make_unique<unfused_t<Net>>()), x_(checked(probe_x, probe_y)), y_(probe_y),
          dir_(std::move(dir)), live_every_(live_every), leaves_(detail::leaves_of(net)),
          events_(open_events(dir_, resumed)) {
        // The probe's train-mode forward must not move the twin's moving statistics, which
        // bn_stats.csv and the inference probe read (they are the training network's copy).
        for_each_layer(*twin_, [](auto& layer, const LayerInfo&) {
            if constexpr (requires { layer.track_moving_statistics; }) layer.track_moving_statistics = false;
        });
        if (resumed) {
            grads_ << attachment(*resumed, "gradients.csv");
            bn_stats_ << attachment(*resumed, "bn_stats.csv");
            modes_ << attachment(*resumed, "probe.csv");
            return;
        }
        grads_ << gradients_header();
        bn_stats_ << bn_stats_header();
        modes_ << probe_header();
        record_epoch(0);
    }
    Recorder(Net& net, const ProbeBatch<T>& probe, std::filesystem::path dir, std::size_t live_every = 0,
             const TrainingState* resumed = nullptr)
        : Recorder(net, probe.x, probe.y, std::move(dir), live_every, resumed) {}
    Recorder(Net&, const ProbeBatch<T>&&, std::filesystem::path, std::size_t = 0,
             const TrainingState* = nullptr) = delete;  // it must outlive us

    Recorder(const Recorder&) = delete;  // fit's callbacks refer to this object
    Recorder& operator=(const Recorder&) = delete;

    /// The diagnostics to pass to fit so that it calls the recorder after every epoch (and
    /// every live_every steps). `user`'s own callbacks are kept and called first.
    FitDiagnostics diagnostics(FitDiagnostics user = {}) {
        user.input_gradient = user.input_gradient || live_every_ > 0;  // live rows include the first dx
        user.on_step = [this, mine = std::move(user.on_step)](std::size_t epoch, std::size_t step, std::size_t global) {
            if (mine) mine(epoch, step, global);
            if (live_every_ && global % live_every_ == 0) {
                auto timed = times_.measure("statistics");
                record_stats(net_, epoch, step, "live");
            }
        };
        user.on_epoch_end = [this, mine = std::move(user.on_epoch_end)](const EpochRecord& r) {
            if (mine) mine(r);
            record_epoch(r.epoch);
            auto timed = times_.measure("tensorboard");
            scalars(r);
        };
        return user;
    }

    /// Writes gradients.csv, probe.csv and (for a network with BatchNorm) bn_stats.csv into
    /// dir, each atomically. The event file is written as training goes.
    void write() const {
        auto timed = times_.measure("files");
        io::write_file_atomically(dir_ / "gradients.csv", grads_.str());
        io::write_file_atomically(dir_ / "probe.csv", modes_.str());
        if (bn_stats_.str() != bn_stats_header()) io::write_file_atomically(dir_ / "bn_stats.csv", bn_stats_.str());
    }

    /// What a resumed recorder needs, to attach to the training state saved after each epoch
    /// (io::TrainingCheckpoint::options): the rows so far and the event file's name and size.
    std::map<std::string, std::string> progress() const {
        return {{"recorder/gradients.csv", grads_.str()},
                {"recorder/bn_stats.csv", bn_stats_.str()},
                {"recorder/probe.csv", modes_.str()},
                {"recorder/events_file", events_.path().filename().string()},
                {"recorder/events_bytes", std::to_string(events_.bytes_written())}};
    }

    /// Seconds spent recording, by phase: probe, statistics, tensorboard, files.
    const PhaseTimes& times() const { return times_; }

private:
    static const std::string& attachment(const TrainingState& s, const std::string& name) {
        const auto it = s.attachments.find("recorder/" + name);
        if (it == s.attachments.end())
            throw std::invalid_argument("study::Recorder: the training state to resume from has no recorder/" + name +
                                        " (it was not saved with Recorder::progress attached)");
        return it->second;
    }

    // A new event file in dir, or, resuming, the one the state names, cut to its size then.
    static diagnostics::EventWriter open_events(const std::filesystem::path& dir, const TrainingState* resumed) {
        if (!resumed) return diagnostics::EventWriter(dir);
        const std::string& bytes = attachment(*resumed, "events_bytes");
        return diagnostics::EventWriter(dir / attachment(*resumed, "events_file"), std::stoull(bytes));
    }

    // The probe's samples, once they are known to match its labels (before anything is created).
    static const Matrix<T>& checked(const Matrix<T>& x, std::span<const int> y) {
        if (x.shape(0) != y.size())
            throw std::invalid_argument("study::Recorder: the probe batch has " + std::to_string(x.shape(0)) +
                                        " rows but " + std::to_string(y.size()) + " labels");
        return x;
    }

    // Statistics of every leaf layer's output and input gradient, then of every trainable
    // gradient, as `net` (the training network or the twin) holds them after its last
    // forward and backward.
    template <class N>
    void record_stats(N& net, std::size_t epoch, std::size_t step, const char* source) {
        std::size_t k = 0;
        auto row = [&](const detail::Leaf& leaf, const Matrix<T>* output, const Matrix<T>* input_gradient) {
            if (output)
                detail::stats_row(grads_, epoch, step, source, leaf.name, leaf.index, "activation",
                                  diagnostics::tensor_stats(detail::span_of(*output)));
            if (input_gradient)
                detail::stats_row(grads_, epoch, step, source, leaf.name, leaf.index, "input_gradient",
                                  diagnostics::tensor_stats(detail::span_of(*input_gradient)));
        };
        detail::walk_signals(net, leaves_, k, row);
        for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
            if (!p.trainable) return;
            detail::stats_row(grads_, epoch, step, source, p.name, leaf_index(p.layer), p.kind,
                              diagnostics::tensor_stats(detail::span_of(grad)));
        });
    }

    std::size_t leaf_index(std::string_view layer) const {
        for (const detail::Leaf& leaf : leaves_)
            if (leaf.name == layer) return leaf.index;
        throw std::logic_error("study::Recorder: parameter of an unknown layer " + std::string(layer));
    }

    // The probe, on the twin with the training network's parameters: forward and backward on
    // the fixed batch in train mode; then the statistics, BatchNorm's distances (they read the
    // probe's batch mean and variance) and, last, an inference forward (which overwrites what
    // the layers hold).
    void record_epoch(std::size_t epoch) {
        SoftmaxCrossEntropy<T> loss;
        double train_loss = 0, train_accuracy = 0;
        {
            auto timed = times_.measure("probe");
            copy_parameters(net_, *twin_);
            train_loss = loss.forward(twin_->forward(x_, Mode::train), y_);
            train_accuracy = double(loss.correct()) / double(y_.size());
            twin_->backward(loss.backward());
        }
        {
            auto timed = times_.measure("statistics");
            record_bn_stats(epoch);
            record_stats(*twin_, epoch, 0, "probe");
        }
        auto timed = times_.measure("probe");
        const double inference_loss = loss.forward(twin_->forward(x_, Mode::inference), y_);
        char buf[160];
        std::snprintf(buf, sizeof buf, "%zu,%.9g,%.9g,%.9g,%.9g\n", epoch, train_loss, train_accuracy, inference_loss,
                      double(loss.correct()) / double(y_.size()));
        modes_ << buf;
    }

    void record_bn_stats(std::size_t epoch) {
        for_each_layer(*twin_, [&](auto& layer, const LayerInfo& li) {
            if constexpr (requires { layer.batch_variance(); }) {
                constexpr std::size_t N = std::remove_cvref_t<decltype(layer)>::out_features;
                const double eps = double(layer.epsilon);
                std::array<double, N> shift, ratio;
                for (std::size_t j = 0; j < N; ++j) {
                    const double var = double(layer.batch_variance()[j]) + eps;
                    shift[j] = std::abs(double(layer.moving_mean(j)) - double(layer.batch_mean()[j])) / std::sqrt(var);
                    ratio[j] = std::log((double(layer.moving_variance(j)) + eps) / var);
                }
                auto median = [](std::array<double, N> v) {
                    std::sort(v.begin(), v.end());
                    return N % 2 ? v[N / 2] : 0.5 * (v[N / 2 - 1] + v[N / 2]);
                };
                double max_shift = 0, max_ratio = 0;
                for (std::size_t j = 0; j < N; ++j) {
                    max_shift = std::max(max_shift, shift[j]);
                    max_ratio = std::max(max_ratio, std::abs(ratio[j]));
                }
                char buf[256];
                std::snprintf(buf, sizeof buf, "%zu,%zu,%.*s,%.9g,%.9g,%.9g,%.9g\n", epoch, li.index,
                              int(li.name.size()), li.name.data(), median(shift), max_shift, median(ratio), max_ratio);
                bn_stats_ << buf;
            }
        });
    }

    // The epoch's scalars, and the histogram of each trainable gradient on the probe batch.
    void scalars(const EpochRecord& r) {
        const auto step = static_cast<std::int64_t>(r.epoch);
        events_.add_scalar("loss", step, r.loss);
        events_.add_scalar("accuracy", step, r.accuracy);
        events_.add_scalar("val_loss", step, r.val_loss);
        events_.add_scalar("val_accuracy", step, r.val_accuracy);
        if (!std::isnan(r.train_accuracy_inference)) {
            events_.add_scalar("train_loss_inference", step, r.train_loss_inference);
            events_.add_scalar("train_accuracy_inference", step, r.train_accuracy_inference);
        }
        for_each_parameter(*twin_, [&](const ParameterInfo& p, auto&, auto& grad) {
            if (p.trainable) events_.add_histogram(std::string(p.name) + "_0_grad", step, detail::span_of(grad));
        });
    }

    Net& net_;
    std::unique_ptr<unfused_t<Net>> twin_;  // the probe's network: the training one's parameters, every layer on its own
    const Matrix<T>& x_;
    std::span<const int> y_;
    std::filesystem::path dir_;
    std::size_t live_every_;
    std::vector<detail::Leaf> leaves_;  // the leaf layers' names and indices, the same in net_ and twin_
    diagnostics::EventWriter events_;
    std::ostringstream grads_, bn_stats_, modes_;
    mutable PhaseTimes times_;  // (write() is const, and is timed too)
};

}  // namespace layerwise::study
