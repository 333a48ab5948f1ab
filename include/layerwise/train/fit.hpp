// layerwise/train/fit.hpp — the training loop, as Keras' model.fit does it.
//
// Per epoch: shuffle the training set (from the seed), then for each mini-batch
//   y = net.forward(x, train);  loss = L(y, t);  net.backward(dL/dy, parameters_only);  opt.step(net)
// keeping running means of loss and accuracy weighted by batch size; the last partial
// batch is kept. Then evaluate on the validation set with BatchNorm in inference mode.
// A non-finite loss or gradient stops training cleanly and is recorded in the history.
// Same seed, data and thread count give a bit-identical history.
//
// The loss L is SoftmaxCrossEntropy with class labels unless another is given
// (loss/loss_function.hpp): fit(net, opt, MeanSquaredError<float>{}, {x, t}, {vx, vt}, options)
// trains a regression on targets t (n x outputs). A loss that classifies nothing has no
// accuracy: its accuracy columns are NaN in the records, empty in history.csv, and left out
// of the progress line.
#pragma once

#include "../loss/loss_function.hpp"
#include "../loss/mean_squared_error.hpp"
#include "../pack.hpp"
#include "../loss/softmax_cross_entropy.hpp"
#include "../visit.hpp"
#include "history.hpp"
#include "progress.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

/// Samples as rows of x (n x features) with their targets y: class labels (n) by default,
/// or regression targets (n x outputs) as a MatrixView (RegressionSamples).
template <class T, class Targets = std::span<const int>>
struct Samples {
    const Matrix<T>& x;
    Targets y;
};
template <class T>
using RegressionSamples = Samples<T, MatrixView<T>>;

struct FitOptions {
    std::size_t epochs = 1;
    std::size_t batch_size = 128;  // Keras default
    std::uint64_t seed = 1;        // shuffling
    Verbosity verbosity = default_verbosity();
    std::ostream* out = &std::cout;
    /// Called after every epoch's record is complete (e.g. to probe gradients or save).
    std::function<void(const EpochRecord&)> on_epoch_end;
    /// Called after every optimizer step with (epoch, step within epoch, global step), all 1-based,
    /// while the step's gradients are still in the network.
    std::function<void(std::size_t, std::size_t, std::size_t)> on_step;
    /// Also compute the gradient with respect to the input batch (the first layer's
    /// input_gradient(), for on_step diagnostics). Off: training needs only the parameter
    /// gradients, and the first layer's dx is a large GEMM (784 columns) for nothing.
    bool input_gradient = false;
    /// After every epoch, also evaluate the first this-many training samples with BatchNorm
    /// in inference mode (EpochRecord::train_*_inference). 0: off.
    std::size_t inference_train_samples = 0;
    /// Rows per batch of the evaluations after each epoch (inference: the results do not depend
    /// on it, and larger batches make better use of the GEMM).
    std::size_t evaluation_batch_size = 512;
};

struct Evaluation {
    double loss = 0, accuracy = 0;  // accuracy: NaN for a loss that classifies nothing (CountsCorrect)
};

namespace detail {

inline constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

// What the targets of a set are called in messages.
template <class Targets>
inline constexpr const char* targets_noun = "targets";
template <>
inline constexpr const char* targets_noun<std::span<const int>> = "labels";

// How many samples the targets are for: one label, or one row of targets, each.
inline std::size_t target_count(std::span<const int> labels) { return labels.size(); }
template <class T>
std::size_t target_count(MatrixView<T> targets) { return targets.rows(); }

// The targets of samples [first, first + rows), in place.
inline std::span<const int> target_range(std::span<const int> labels, std::size_t first, std::size_t rows) {
    return labels.subspan(first, rows);
}
template <class T>
MatrixView<T> target_range(MatrixView<T> targets, std::size_t first, std::size_t rows) {
    return targets.row_range(first, rows);
}

// Where a shuffled batch's targets are gathered: labels (rows), or a Matrix (rows x outputs).
template <class Targets>
struct target_buffer;
template <>
struct target_buffer<std::span<const int>> {
    using type = std::vector<int>;
};
template <class T>
struct target_buffer<MatrixView<T>> {
    using type = Matrix<T>;
};

// Copies the targets of samples order[first, first + rows) into dst.
inline void gather_targets(std::span<const int> labels, const std::vector<std::size_t>& order, std::size_t first,
                           std::size_t rows, std::vector<int>& dst) {
    dst.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) dst[i] = labels[order[first + i]];
}
template <class T>
void gather_targets(MatrixView<T> targets, const std::vector<std::size_t>& order, std::size_t first,
                    std::size_t rows, Matrix<T>& dst) {
    const std::size_t outputs = targets.cols();
    ensure_shape(dst, rows, outputs);  // dst: (rows x outputs)
    for (std::size_t i = 0; i < rows; ++i) {
        const T* row = targets.data() + order[first + i] * outputs;
        std::copy(row, row + outputs, dst.data() + i * outputs);
    }
}

// Copies rows order[first, first + rows) of src into dst (rows x features) and their targets.
template <class T, class Targets>
void gather_batch(const Samples<T, Targets>& src, const std::vector<std::size_t>& order, std::size_t first,
                  Matrix<T>& dst, typename target_buffer<Targets>::type& targets) {
    const std::size_t rows = dst.shape(0), features = dst.shape(1);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t r = order[first + i];
        std::copy(src.x.data() + r * features, src.x.data() + (r + 1) * features, dst.data() + i * features);
    }
    gather_targets(src.y, order, first, rows, targets);
}

// An index in [0, n) from one draw. No library distribution (their algorithms differ
// between standard libraries), so the shuffle is the same everywhere; the modulo bias is
// below n / 2^64, nothing for data sets of this size.
inline std::size_t draw_index(std::mt19937_64& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

inline void shuffle(std::vector<std::size_t>& order, std::mt19937_64& rng) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[draw_index(rng, i)]);
}

/// True when none of the n values is a NaN or an infinity. v * 0 is 0 for every finite v and
/// NaN for NaN or +-inf, so a sum of them is 0 exactly when all are finite. In packs
/// (sum_of_packs), because this runs on every training step: 202 us for the 25-layer net's
/// gradients as scalar sums, 49 us this way, warm (issue 13).
template <class T>
bool all_finite(const T* v, std::size_t n) {
    return sum_of_packs(v, n, [](auto x) { return x * T(0); }) == T(0);
}

}  // namespace detail

/// Returns the name of the first parameter whose gradient holds a NaN or an infinity, or "".
template <class Net>
std::string first_nonfinite_gradient(Net& net) {
    std::string bad;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (bad.empty() && p.trainable && !detail::all_finite(grad.data(), grad.size())) bad = p.name;
    });
    return bad;
}

/// Mean loss, and accuracy for a loss that counts correct classifications (else NaN), over
/// the first `limit` samples (all by default), BatchNorm in inference mode, in batches.
template <class Net, LossFunction<typename Net::scalar_type> Loss>
Evaluation evaluate(Net& net, Loss loss, const Samples<typename Net::scalar_type, typename Loss::target_type>& data,
                    std::size_t batch_size = 128, std::size_t limit = std::size_t(-1)) {
    using T = typename Net::scalar_type;
    using Targets = typename Loss::target_type;
    const std::size_t count = detail::target_count(data.y), n = std::min(count, limit), features = data.x.shape(1);
    if (data.x.shape(0) != count)
        throw std::invalid_argument(std::string("layerwise: evaluate: rows and ") + detail::targets_noun<Targets> +
                                    " differ in number");
    if (n == 0) throw std::invalid_argument("layerwise: evaluate: no samples");
    if (batch_size == 0) throw std::invalid_argument("layerwise: evaluate: batch_size must be at least 1");
    Matrix<T> x;  // x: (rows x features), one batch
    double total = 0, correct = 0;
    for (std::size_t first = 0; first < n; first += batch_size) {
        const std::size_t rows = std::min(batch_size, n - first);
        ensure_shape(x, rows, features);
        std::copy(data.x.data() + first * features, data.x.data() + (first + rows) * features, x.data());
        total += double(loss.forward(net.forward(x, Mode::inference), detail::target_range(data.y, first, rows))) *
                 double(rows);
        if constexpr (CountsCorrect<Loss>) correct += double(loss.correct());
    }
    forget_inputs(net);  // x, the layers' last input, dies here
    return {total / double(n), CountsCorrect<Loss> ? correct / double(n) : detail::not_measured};
}

/// Classification: evaluate with SoftmaxCrossEntropy on class labels.
template <class Net>
Evaluation evaluate(Net& net, const Samples<typename Net::scalar_type>& data, std::size_t batch_size = 128,
                    std::size_t limit = std::size_t(-1)) {
    return evaluate(net, SoftmaxCrossEntropy<typename Net::scalar_type>{}, data, batch_size, limit);
}

/// Trains net on `train` with the given loss (whose target_type says what the targets are),
/// evaluating on `validation` after every epoch.
template <class Net, class Optimizer, LossFunction<typename Net::scalar_type> Loss>
History fit(Net& net, Optimizer& optimizer, Loss loss,
            const Samples<typename Net::scalar_type, typename Loss::target_type>& train,
            const Samples<typename Net::scalar_type, typename Loss::target_type>& validation,
            const FitOptions& options) {
    using T = typename Net::scalar_type;
    using Targets = typename Loss::target_type;
    const std::size_t n = detail::target_count(train.y), features = train.x.shape(1), B = options.batch_size;
    if (n == 0 || train.x.shape(0) != n)
        throw std::invalid_argument(std::string("layerwise: fit: the training set is empty or its rows and ") +
                                    detail::targets_noun<Targets> + " differ in number");
    if (B == 0) throw std::invalid_argument("layerwise: fit: batch_size must be at least 1");

    const std::size_t steps = (n + B - 1) / B;
    std::mt19937_64 rng(options.seed);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    Matrix<T> full = zeros<T>(std::min(B, n), features), last = zeros<T>(n % B ? n % B : B, features);
    typename detail::target_buffer<Targets>::type targets;  // the batch's targets, gathered
    ProgressLine progress(*options.out, options.verbosity);
    History history;
    std::size_t global_step = 0;
    auto accuracy = [](double correct, std::size_t seen) {  // the running accuracy, or NaN for a loss without one
        return CountsCorrect<Loss> ? correct / double(seen) : detail::not_measured;
    };

    for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        detail::shuffle(order, rng);
        progress.begin_epoch(epoch, options.epochs, steps);
        double sum_loss = 0, sum_correct = 0, step_seconds = 0;
        std::size_t seen = 0;
        for (std::size_t s = 0; s < steps; ++s) {
            const auto step_start = std::chrono::steady_clock::now();
            const std::size_t first = s * B, rows = std::min(B, n - first);
            Matrix<T>& x = rows == full.shape(0) ? full : last;
            detail::gather_batch(train, order, first, x, targets);
            const T value = loss.forward(net.forward(x, Mode::train), targets);
            if (options.input_gradient) net.backward(loss.backward());
            else backward_parameters(net, loss.backward());
            // Every gradient is checked before the optimizer touches anything, so that no update
            // from a bad gradient is applied: a run that diverges keeps the parameters of its last
            // step. (Checked inside the optimizer's update, a NaN found partway would come after
            // the tensors before it were updated.) The check is a read of the gradients, about
            // 49 us of the 25-layer net's 5 ms step.
            std::string bad;
            if (!std::isfinite(value)) bad = std::isnan(value) ? "loss is NaN" : "loss is infinite";
            else if (std::string g = first_nonfinite_gradient(net); !g.empty()) bad = "gradient of " + g + " is not finite";
            if (!bad.empty()) {
                history.times.add("train_steps", step_seconds);
                history.divergence = Divergence{epoch, s + 1, bad};
                progress.diverged(*history.divergence);
                forget_inputs(net);  // the batch buffers die here
                return history;
            }
            optimizer.step(net);
            ++global_step;
            sum_loss += double(value) * double(rows);
            if constexpr (CountsCorrect<Loss>) sum_correct += double(loss.correct());
            seen += rows;
            progress.step(s + 1, sum_loss / double(seen), accuracy(sum_correct, seen));
            step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
            if (options.on_step) options.on_step(epoch, s + 1, global_step);
        }
        history.times.add("train_steps", step_seconds);
        const Evaluation val = [&] {
            auto timed = history.times.measure("evaluation");
            return evaluate(net, loss, validation, options.evaluation_batch_size);
        }();
        EpochRecord record{epoch, sum_loss / double(seen), accuracy(sum_correct, seen), val.loss, val.accuracy, 0};
        if (options.inference_train_samples > 0) {
            auto timed = history.times.measure("train_inference");
            const Evaluation t = evaluate(net, loss, train, options.evaluation_batch_size, options.inference_train_samples);
            record.train_loss_inference = t.loss;
            record.train_accuracy_inference = t.accuracy;
        }
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!std::isfinite(val.loss)) {
            history.divergence = Divergence{epoch, steps, "validation loss is not finite"};
            progress.diverged(*history.divergence);
            return history;  // (evaluate has already made the layers forget its buffers)
        }
        history.epochs.push_back(record);
        progress.end_epoch(record);
        if (options.on_epoch_end) options.on_epoch_end(record);
    }
    return history;
}

/// Classification: fit with SoftmaxCrossEntropy on class labels.
template <class Net, class Optimizer>
History fit(Net& net, Optimizer& optimizer, const Samples<typename Net::scalar_type>& train,
            const Samples<typename Net::scalar_type>& validation, const FitOptions& options) {
    return fit(net, optimizer, SoftmaxCrossEntropy<typename Net::scalar_type>{}, train, validation, options);
}

}  // namespace layerwise
