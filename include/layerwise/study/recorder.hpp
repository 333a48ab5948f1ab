// layerwise/study/recorder.hpp — what a gradient study records about one network while it
// trains: per-layer statistics of gradients, activations and backward errors on a fixed probe
// batch, BatchNorm's moving-vs-batch statistics, the probe's loss in both modes, and
// TensorBoard histograms. Any network layerwise can train gets the same files:
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
//   events.out.tfevents.*  loss, accuracy and each gradient's histogram per epoch.
//
// times() says how long each part took: probe (its forwards and backward), statistics,
// tensorboard and files (PhaseTimes, train/phase_times.hpp; fit's History has the rest).
#pragma once

#include "../diagnostics/tensor_stats.hpp"
#include "../diagnostics/tensorboard.hpp"
#include "../loss/softmax_cross_entropy.hpp"
#include "../train/fit.hpp"
#include "../visit.hpp"
#include "../io/atomic_file.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace layerwise::study {

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
                  step, source, int(tensor.size()), tensor.data(), layer_index, int(kind.size()), kind.data(), s.n, s.l2,
                  s.rms, s.mean, s.std, s.max_abs, s.zero_fraction, s.positive, s.negative, s.zeros, s.nonfinite);
    out << buf;
    for (auto h : s.histogram) out << ',' << h;
    out << '\n';
}

// Turns every BatchNorm's moving-statistics update in train mode on or off.
template <class Net>
void track_moving_statistics(Net& net, bool on) {
    for_each_layer(net, [on](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.track_moving_statistics; }) layer.track_moving_statistics = on;
    });
}

}  // namespace detail

inline std::string gradients_header() {
    std::string h = "epoch,step,source,tensor,layer_index,kind,n,l2,rms,mean,std,max_abs,zero_fraction,positive,negative,zeros,nonfinite";
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

/// Records one float network's training into the folder dir (see the top of this file).
/// The network and the probe batch must outlive the recorder.
template <class Net>
class Recorder {
public:
    /// Records the network as it is now (epoch 0: signal propagation at initialisation).
    /// `live_every` > 0 also records the training batch every that many steps.
    Recorder(Net& net, const Matrix<float>& probe_x, std::span<const int> probe_y, std::filesystem::path dir,
             std::size_t live_every = 0)
        : net_(net), x_(probe_x), y_(probe_y), dir_(std::move(dir)), live_every_(live_every), events_(dir_) {
        if (probe_x.shape(0) != probe_y.size())
            throw std::invalid_argument("study::Recorder: the probe batch has " + std::to_string(probe_x.shape(0)) +
                                        " rows but " + std::to_string(probe_y.size()) + " labels");
        grads_ << gradients_header();
        bn_stats_ << bn_stats_header();
        modes_ << probe_header();
        record_epoch(0);
    }

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
                record_stats(epoch, step, "live");
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

    /// Seconds spent recording, by phase: probe, statistics, tensorboard, files.
    const PhaseTimes& times() const { return times_; }

private:
    // Statistics of every trainable gradient and of every leaf layer's output and input
    // gradient, as the network holds them after its last forward and backward.
    void record_stats(std::size_t epoch, std::size_t step, const char* source) {
        std::map<std::string, std::size_t, std::less<>> leaf_index;
        for_each_layer(net_, [&](auto& layer, const LayerInfo& li) {
            leaf_index.emplace(std::string(li.name), li.index);
            detail::stats_row(grads_, epoch, step, source, li.name, li.index, "activation",
                              diagnostics::tensor_stats(detail::span_of(layer.output())));
            detail::stats_row(grads_, epoch, step, source, li.name, li.index, "input_gradient",
                              diagnostics::tensor_stats(detail::span_of(layer.input_gradient())));
        });
        for_each_parameter(net_, [&](const ParameterInfo& p, auto&, auto& grad) {
            if (!p.trainable) return;
            detail::stats_row(grads_, epoch, step, source, p.name, leaf_index.find(p.layer)->second, p.kind,
                              diagnostics::tensor_stats(detail::span_of(grad)));
        });
    }

    // The probe: forward and backward on the fixed batch in train mode, BatchNorm's moving
    // statistics left alone so that probing does not change the model; then the statistics,
    // BatchNorm's distances (they read the probe's batch mean and variance) and, last, an
    // inference forward (which overwrites what the layers hold).
    void record_epoch(std::size_t epoch) {
        SoftmaxCrossEntropy<float> loss;
        double train_loss = 0, train_accuracy = 0;
        {
            auto timed = times_.measure("probe");
            detail::track_moving_statistics(net_, false);
            train_loss = loss.forward(net_.forward(x_, Mode::train), y_);
            train_accuracy = double(loss.correct()) / double(y_.size());
            net_.backward(loss.backward());
            detail::track_moving_statistics(net_, true);
        }
        {
            auto timed = times_.measure("statistics");
            record_bn_stats(epoch);
            record_stats(epoch, 0, "probe");
        }
        auto timed = times_.measure("probe");
        const double inference_loss = loss.forward(net_.forward(x_, Mode::inference), y_);
        char buf[160];
        std::snprintf(buf, sizeof buf, "%zu,%.9g,%.9g,%.9g,%.9g\n", epoch, train_loss, train_accuracy, inference_loss,
                      double(loss.correct()) / double(y_.size()));
        modes_ << buf;
    }

    void record_bn_stats(std::size_t epoch) {
        for_each_layer(net_, [&](auto& layer, const LayerInfo& li) {
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
        for_each_parameter(net_, [&](const ParameterInfo& p, auto&, auto& grad) {
            if (p.trainable) events_.add_histogram(std::string(p.name) + "_0_grad", step, detail::span_of(grad));
        });
    }

    Net& net_;
    const Matrix<float>& x_;
    std::span<const int> y_;
    std::filesystem::path dir_;
    std::size_t live_every_;
    diagnostics::EventWriter events_;
    std::ostringstream grads_, bn_stats_, modes_;
    mutable PhaseTimes times_;  // (write() is const, and is timed too)
};

}  // namespace layerwise::study
