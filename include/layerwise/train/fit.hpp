// layerwise/train/fit.hpp — the training loop, as Keras' model.fit does it.
//
// Per epoch: shuffle the training set (from the seed), then for each mini-batch
//   logits = net.forward(x, train);  loss = CE(logits, y);  net.backward(dCE, parameters_only);  opt.step(net)
// keeping running means of loss and accuracy weighted by batch size; the last partial
// batch is kept. Then evaluate on the validation set with BatchNorm in inference mode.
// A non-finite loss or gradient stops training cleanly and is recorded in the history.
// Same seed, data and thread count give a bit-identical history.
#pragma once

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
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

/// Samples as rows of x (n x features) with their class labels (n).
template <class T>
struct Samples {
    const Matrix<T>& x;
    std::span<const int> y;
};

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
};

struct Evaluation {
    double loss = 0, accuracy = 0;
};

namespace detail {

// Copies rows order[first, first + rows) of src into dst (rows x features) and their labels.
template <class T>
void gather_batch(const Samples<T>& src, const std::vector<std::size_t>& order, std::size_t first, Matrix<T>& dst,
                  std::vector<int>& labels) {
    const std::size_t rows = dst.shape(0), features = dst.shape(1);
    labels.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t r = order[first + i];
        std::copy(src.x.data() + r * features, src.x.data() + (r + 1) * features, dst.data() + i * features);
        labels[i] = src.y[r];
    }
}

// An index in [0, n) from one draw. No library distribution (their algorithms differ
// between standard libraries), so the shuffle is the same everywhere; the modulo bias is
// below n / 2^64, nothing for data sets of this size.
inline std::size_t draw_index(std::mt19937_64& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

inline void shuffle(std::vector<std::size_t>& order, std::mt19937_64& rng) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[draw_index(rng, i)]);
}

}  // namespace detail

/// Returns the name of the first parameter whose gradient holds a NaN or an infinity, or "".
template <class Net>
std::string first_nonfinite_gradient(Net& net) {
    std::string bad;
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (!bad.empty() || !p.trainable) return;
        using T = typename std::remove_cvref_t<decltype(grad)>::value_type;
        // g * 0 is 0 for every finite g and NaN for NaN or +-inf, so a sum of them is 0 exactly
        // when all are finite. 16 independent sums: the loop vectorizes (one sum cannot, as
        // float addition does not reassociate), and this runs on every training step.
        constexpr std::size_t lanes = 16;
        std::array<T, lanes> probe{};
        const T* g = grad.data();
        const std::size_t n = grad.size();
        std::size_t k = 0;
        for (; k + lanes <= n; k += lanes)
            for (std::size_t j = 0; j < lanes; ++j) probe[j] += g[k + j] * T(0);
        for (; k < n; ++k) probe[0] += g[k] * T(0);
        for (T sum : probe)
            if (sum != T(0)) bad = p.name;
    });
    return bad;
}

/// Mean loss and accuracy over the first `limit` samples (all by default), BatchNorm in
/// inference mode, in batches.
template <class Net>
Evaluation evaluate(Net& net, const Samples<typename Net::scalar_type>& data, std::size_t batch_size = 128,
                    std::size_t limit = std::size_t(-1)) {
    using T = typename Net::scalar_type;
    const std::size_t n = std::min(data.y.size(), limit), features = data.x.shape(1);
    if (data.x.shape(0) != data.y.size())
        throw std::invalid_argument("layerwise: evaluate: rows and labels differ in number");
    if (n == 0) throw std::invalid_argument("layerwise: evaluate: no samples");
    SoftmaxCrossEntropy<T> loss;
    Matrix<T> x;
    double total = 0, correct = 0;
    for (std::size_t first = 0; first < n; first += batch_size) {
        const std::size_t rows = std::min(batch_size, n - first);
        ensure_shape(x, rows, features);
        std::copy(data.x.data() + first * features, data.x.data() + (first + rows) * features, x.data());
        total += double(loss.forward(net.forward(x, Mode::inference), data.y.subspan(first, rows))) * double(rows);
        correct += double(loss.correct());
    }
    forget_inputs(net);  // x, the layers' last input, dies here
    return {total / double(n), correct / double(n)};
}

template <class Net, class Optimizer>
History fit(Net& net, Optimizer& optimizer, const Samples<typename Net::scalar_type>& train,
            const Samples<typename Net::scalar_type>& validation, const FitOptions& options) {
    using T = typename Net::scalar_type;
    const std::size_t n = train.y.size(), features = train.x.shape(1), B = options.batch_size;
    if (n == 0 || train.x.shape(0) != n)
        throw std::invalid_argument("layerwise: fit: the training set is empty or its rows and labels differ in number");
    if (B == 0) throw std::invalid_argument("layerwise: fit: batch_size must be at least 1");

    const std::size_t steps = (n + B - 1) / B;
    std::mt19937_64 rng(options.seed);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    Matrix<T> full = zeros<T>(std::min(B, n), features), last = zeros<T>(n % B ? n % B : B, features);
    std::vector<int> labels;
    labels.reserve(B);
    SoftmaxCrossEntropy<T> loss;
    ProgressLine progress(*options.out, options.verbosity);
    History history;
    std::size_t global_step = 0;

    for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        detail::shuffle(order, rng);
        progress.begin_epoch(epoch, options.epochs, steps);
        double sum_loss = 0, sum_correct = 0;
        std::size_t seen = 0;
        for (std::size_t s = 0; s < steps; ++s) {
            const std::size_t first = s * B, rows = std::min(B, n - first);
            Matrix<T>& x = rows == full.shape(0) ? full : last;
            detail::gather_batch(train, order, first, x, labels);
            const T value = loss.forward(net.forward(x, Mode::train), labels);
            if (options.input_gradient) net.backward(loss.backward());
            else backward_parameters(net, loss.backward());
            std::string bad;
            if (!std::isfinite(value)) bad = std::isnan(value) ? "loss is NaN" : "loss is infinite";
            else if (std::string g = first_nonfinite_gradient(net); !g.empty()) bad = "gradient of " + g + " is not finite";
            if (!bad.empty()) {
                history.divergence = Divergence{epoch, s + 1, bad};
                progress.diverged(*history.divergence);
                forget_inputs(net);  // the batch buffers die here
                return history;
            }
            optimizer.step(net);
            ++global_step;
            sum_loss += double(value) * double(rows);
            sum_correct += double(loss.correct());
            seen += rows;
            if (options.on_step) options.on_step(epoch, s + 1, global_step);
            progress.step(s + 1, sum_loss / double(seen), sum_correct / double(seen));
        }
        const Evaluation val = evaluate(net, validation, B);
        EpochRecord record{epoch, sum_loss / double(seen), sum_correct / double(seen), val.loss, val.accuracy, 0};
        if (options.inference_train_samples > 0) {
            const Evaluation t = evaluate(net, train, B, options.inference_train_samples);
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

}  // namespace layerwise
