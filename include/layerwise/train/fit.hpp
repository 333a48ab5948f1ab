// layerwise/train/fit.hpp — the training loop, as Keras' model.fit does it.
//
//   fit(net, optimizer, loss, train, validation, options[, diagnostics])
//
// runs options.epochs epochs. An epoch shuffles the training set (from options.seed), takes
// one step per mini-batch (the last, partial batch is kept) and then evaluates:
//   step        y = net.forward(x, train);  loss = L(y, t);  net.backward(dL/dy, parameters_only);
//               the finite check;  clip the gradients' norm (FitOptions::clip_norm);
//               optimizer.learning_rate = base * schedule * callbacks;  optimizer.step(net)
//   evaluation  the validation set, BatchNorm in inference mode (and, as a diagnostic, the
//               first training samples the same way); then the epoch's record and callbacks.
// The learning rate: base is the optimizer's learning_rate when fit starts (and again when it
// returns), the schedule's factor comes from the global step (schedule.hpp), the callbacks'
// from the epochs so far (callbacks.hpp): a resumed run sets the rates of one that never
// stopped. A callback can stop training after an epoch (History::stopped_early).
// The record holds running means of loss and accuracy weighted by batch size. Same seed, data
// and thread count give a bit-identical history.
//
// FitOptions are the training settings; FitDiagnostics what is measured or reported beside
// them (a second argument, empty by default), which does not change what training computes.
//
// When training diverges: a loss or gradient that is NaN or infinite stops fit before the
// optimizer's step, so the network keeps the parameters of its last step, and the history says
// where (History::divergence). A validation loss that is not finite stops it after its epoch.
//
// The loss L is SoftmaxCrossEntropy with class labels unless another is given
// (loss/loss_function.hpp): fit(net, opt, MeanSquaredError<float>{}, {x, t}, {vx, vt}, options)
// trains a regression on targets t (n x outputs). A loss that classifies nothing has no
// accuracy: its accuracy columns are NaN in the records, empty in history.csv, and left out
// of the progress line.
#pragma once

#include "../loss/loss_function.hpp"
#include "../loss/mean_squared_error.hpp"
#include "../loss/softmax_cross_entropy.hpp"
#include "../optim/clip.hpp"
#include "../pack.hpp"
#include "../sample_error.hpp"
#include "../visit.hpp"
#include "callbacks.hpp"
#include "history.hpp"
#include "progress.hpp"
#include "schedule.hpp"
#include "training_state.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace layerwise {

/// Samples as rows of x (n x features) with their targets y: class labels (n) by default,
/// or regression targets (n x outputs) as a MatrixView (RegressionSamples).
template <class T, class Targets = std::span<const int>>
struct Samples {
    const Matrix<T>& x;  ///< the samples, one per row (n x features)
    Targets y;           ///< their targets: n class labels, or a MatrixView (n x outputs)
};
/// Samples with regression targets (n x outputs), as a MatrixView.
template <class T>
using RegressionSamples = Samples<T, MatrixView<T>>;

/// How fit trains.
struct FitOptions {
    std::size_t epochs = 1;        ///< how many epochs the run has in all (a resumed run counts those done)
    std::size_t batch_size = 128;  ///< rows per training step; Keras default
    std::uint64_t seed = 1;        ///< of the shuffle
    /// Rows per batch of the evaluations after each epoch (inference: the results do not depend
    /// on it, and larger batches make better use of the GEMM).
    std::size_t evaluation_batch_size = 512;
    Verbosity verbosity = default_verbosity();  ///< what the progress line prints (progress.hpp)
    std::ostream* out = &std::cout;             ///< where the progress line goes
    /// Go on from this state (training_state.hpp), with the network and the optimizer restored
    /// from the same checkpoint (io::load_training_state): fit starts at epoch epochs_done + 1,
    /// computes what an uninterrupted run would have, and returns the whole history. The state
    /// must come from a run with the same seed, batch size and number of training samples.
    /// nullptr: from the start.
    const TrainingState* resume_from = nullptr;
    /// Called after every completed epoch (after FitDiagnostics::on_epoch_end) with the state to
    /// resume from; io::TrainingCheckpoint saves it there with the network and the optimizer.
    std::function<void(const TrainingState&)> on_epoch_state = {};
    /// The factor on the optimizer's learning rate at every step (schedule.hpp; parse_schedule
    /// reads "step:10:0.5", "warmup:500+cosine", ...). Default: constant. A schedule other
    /// than constant needs an optimizer with a learning_rate member.
    LearningRateSchedule schedule = {};
    /// Clip the gradients to this global 2-norm before every optimizer step
    /// (clip_gradient_norm, optim/clip.hpp). 0: off.
    double clip_norm = 0;
    /// Called, in order, after every completed epoch (callbacks.hpp: EarlyStopping,
    /// ReduceLROnPlateau, KeepBest, io::keep_best); reset when fit starts, replayed over the
    /// restored history when it resumes.
    std::vector<std::shared_ptr<Callback>> callbacks = {};
};

/// What fit measures and reports beside training.
struct FitDiagnostics {
    /// After every epoch, also evaluate the first this-many training samples with BatchNorm
    /// in inference mode (EpochRecord::train_*_inference). 0: off.
    std::size_t inference_train_samples = 0;
    /// Also compute the gradient with respect to the input batch (the first layer's
    /// input_gradient(), for on_step diagnostics). Off: training needs only the parameter
    /// gradients, and the first layer's dx is a large GEMM (784 columns) for nothing.
    bool input_gradient = false;
    /// Called after every optimizer step with (epoch, step within epoch, global step), all 1-based,
    /// while the step's gradients are still in the network.
    std::function<void(std::size_t, std::size_t, std::size_t)> on_step;
    /// Called after every epoch's record is complete (e.g. to probe gradients or save).
    std::function<void(const EpochRecord&)> on_epoch_end;
};

/// What evaluate returns: the mean loss and the accuracy over the samples.
struct Evaluation {
    /// loss: the mean over the samples.
    double loss = 0, accuracy = 0;  ///< accuracy: the fraction classified correctly; NaN for a loss that classifies nothing (CountsCorrect)
};

/// How fit and evaluate see a loss's target_type: as one row of `width` values per sample,
/// stored one row after another. Class labels are rows of one int, regression targets rows of
/// outputs. A loss with targets of another type needs a specialisation of its own.
template <class Targets>
struct target_rows;

/// Class labels: one int per sample.
template <>
struct target_rows<std::span<const int>> {
    using value_type = int;  ///< the type of one label
    static constexpr const char* noun = "labels";  ///< what they are called in messages
    /// The number of samples: one label each.
    static std::size_t count(std::span<const int> y) { return y.size(); }
    /// 1: one label per sample.
    static std::size_t width(std::span<const int>) { return 1; }
    /// The `rows` labels stored at data.
    static std::span<const int> view(const int* data, std::size_t rows, std::size_t) { return {data, rows}; }
};

/// Regression targets: a MatrixView with one row of outputs per sample.
template <class T>
struct target_rows<MatrixView<T>> {
    using value_type = T;  ///< the type of one target value
    static constexpr const char* noun = "targets";  ///< what they are called in messages
    /// The number of samples: the rows of y.
    static std::size_t count(MatrixView<T> y) { return y.rows(); }
    /// Values per sample: the columns of y.
    static std::size_t width(MatrixView<T> y) { return y.cols(); }
    /// The (rows x width) targets stored at data, one row after another.
    static MatrixView<T> view(const T* data, std::size_t rows, std::size_t width) { return {data, rows, width}; }
};

namespace detail {

inline constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

// Throws SampleError (who, the row, of) for the first of rows [0, n) whose features, or
// regression targets, hold a NaN or an infinity.
template <class T, class Targets>
void require_finite_samples(const Samples<T, Targets>& data, std::size_t n, const std::string& who,
                            const std::string& of) {
    require_finite_rows(MatrixView<T>(data.x.data(), n, data.x.shape(1)), who, 0, of);
    if constexpr (std::is_same_v<Targets, MatrixView<T>>)
        require_finite_rows(MatrixView<T>(data.y.data(), n, data.y.cols()), who, 0, of, "target");
}

// The targets of samples [first, first + rows), in place.
template <class Targets>
Targets target_range(Targets y, std::size_t first, std::size_t rows) {
    using R = target_rows<Targets>;
    const std::size_t width = R::width(y);
    return R::view(y.data() + first * width, rows, width);
}

// The targets of a shuffled batch, gathered into a buffer of their own.
template <class Targets>
class TargetBatch {
    using R = target_rows<Targets>;

public:
    // Copies the targets of samples order[first, first + rows).
    void gather(Targets y, const std::vector<std::size_t>& order, std::size_t first, std::size_t rows) {
        width_ = R::width(y);
        rows_ = rows;
        values_.resize(rows * width_);
        for (std::size_t i = 0; i < rows; ++i) {
            const auto* row = y.data() + order[first + i] * width_;
            std::copy(row, row + width_, values_.data() + i * width_);
        }
    }
    Targets view() const { return R::view(values_.data(), rows_, width_); }

private:
    std::vector<typename R::value_type> values_;  // (rows x width)
    std::size_t rows_ = 0, width_ = 0;
};

// Copies rows order[first, first + rows) of src into dst (rows x features) and their targets.
template <class T, class Targets>
void gather_batch(const Samples<T, Targets>& src, const std::vector<std::size_t>& order, std::size_t first,
                  Matrix<T>& dst, TargetBatch<Targets>& targets) {
    const std::size_t rows = dst.shape(0), features = dst.shape(1);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t r = order[first + i];
        std::copy(src.x.data() + r * features, src.x.data() + (r + 1) * features, dst.data() + i * features);
    }
    targets.gather(src.y, order, first, rows);
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
        if (bad.empty() && p.trainable && !detail::all_finite(grad.data(), grad.size())) bad = p.name;
    });
    return bad;
}

/// Mean loss, and accuracy for a loss that counts correct classifications (else NaN), over
/// the first `limit` samples (all by default), BatchNorm in inference mode, in batches.
/// A bad sample (a NaN feature, a label the loss refuses) throws SampleError with its row in data.
template <class Net, LossFunction<typename Net::scalar_type> Loss>
Evaluation evaluate(Net& net, Loss loss, const Samples<typename Net::scalar_type, typename Loss::target_type>& data,
                    std::size_t batch_size = 128, std::size_t limit = std::size_t(-1)) {
    using T = typename Net::scalar_type;
    using R = target_rows<typename Loss::target_type>;
    const std::size_t count = R::count(data.y), n = std::min(count, limit), features = data.x.shape(1);
    if (data.x.shape(0) != count)
        throw std::invalid_argument(std::string("layerwise: evaluate: rows and ") + R::noun + " differ in number");
    if (n == 0) throw std::invalid_argument("layerwise: evaluate: no samples");
    if (batch_size == 0) throw std::invalid_argument("layerwise: evaluate: batch_size must be at least 1");
    detail::require_finite_samples(data, n, "evaluate", "");
    Matrix<T> x;  // x: (rows x features), one batch
    double total = 0, correct = 0;
    for (std::size_t first = 0; first < n; first += batch_size) {
        const std::size_t rows = std::min(batch_size, n - first);
        ensure_shape(x, rows, features);
        std::copy(data.x.data() + first * features, data.x.data() + (first + rows) * features, x.data());
        try {
            total += double(loss.forward(net.forward(x, Mode::inference), detail::target_range(data.y, first, rows))) *
                     double(rows);
        } catch (const SampleError& e) {  // e counts from the batch's first row
            forget_inputs(net);
            throw SampleError("evaluate", first + e.sample(), "", e.problem());
        }
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

namespace detail {

// One call of fit: its batch buffers, shuffle, progress line and history, and the pieces an
// epoch is made of (the top of this file).
template <class Net, class Optimizer, class Loss>
class FitLoop {
    using T = typename Net::scalar_type;
    using Targets = typename Loss::target_type;
    using Data = Samples<T, Targets>;
    using clock = std::chrono::steady_clock;

public:
    // Throws std::invalid_argument for an empty training set, targets that do not match its
    // rows, or a batch size of 0, and SampleError for a NaN or an infinity in either set,
    // before anything is allocated.
    static void check(const Data& train, const Data& validation, const FitOptions& options) {
        using R = target_rows<Targets>;
        const std::size_t n = R::count(train.y);
        if (n == 0 || train.x.shape(0) != n)
            throw std::invalid_argument(std::string("layerwise: fit: the training set is empty or its rows and ") +
                                        R::noun + " differ in number");
        if (validation.x.shape(0) != R::count(validation.y))
            throw std::invalid_argument(std::string("layerwise: fit: the validation set's rows and ") + R::noun +
                                        " differ in number");
        if (options.batch_size == 0) throw std::invalid_argument("layerwise: fit: batch_size must be at least 1");
        if (!(options.clip_norm >= 0) || !std::isfinite(options.clip_norm))
            throw std::invalid_argument("layerwise: fit: clip_norm must be a finite number, at least 0");
        for (const auto& c : options.callbacks)
            if (!c) throw std::invalid_argument("layerwise: fit: a callback is null");
        if constexpr (!has_learning_rate) {
            const bool changes = !options.schedule.constant() ||
                                 std::any_of(options.callbacks.begin(), options.callbacks.end(),
                                             [](const auto& c) { return c->changes_learning_rate(); });
            if (changes)
                throw std::invalid_argument("layerwise: fit: a learning-rate schedule or ReduceLROnPlateau needs an "
                                            "optimizer with a learning_rate member");
        }
        require_finite_samples(train, n, "fit", " of the training set");
        require_finite_samples(validation, R::count(validation.y), "fit", " of the validation set");
    }

    FitLoop(Net& net, Optimizer& optimizer, Loss loss, const Data& train, const Data& validation,
            const FitOptions& options, const FitDiagnostics& diagnostics)
        : net_(net), optimizer_(optimizer), loss_(std::move(loss)), train_(train), validation_(validation),
          options_(options), diagnostics_(diagnostics), n_(target_rows<Targets>::count(train.y)),
          batch_(options.batch_size), steps_((n_ + batch_ - 1) / batch_), rng_(options.seed), order_(n_),
          full_(zeros<T>(std::min(batch_, n_), train.x.shape(1))),
          last_(zeros<T>(n_ % batch_ ? n_ % batch_ : batch_, train.x.shape(1))),
          progress_(*options.out, options.verbosity) {
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        if constexpr (has_learning_rate) base_learning_rate_ = double(optimizer.learning_rate);
        if (options.resume_from) resume(*options.resume_from);
    }

    History run() {
        // the optimizer's learning rate goes back to the base however fit ends
        struct RestoreBase {
            FitLoop& loop;
            ~RestoreBase() {
                if constexpr (has_learning_rate)
                    loop.optimizer_.learning_rate =
                        static_cast<std::remove_cvref_t<decltype(loop.optimizer_.learning_rate)>>(loop.base_learning_rate_);
            }
        } restore{*this};
        for (const auto& c : options_.callbacks) c->reset();
        if (!replay_callbacks()) return std::move(history_);
        for (std::size_t epoch = history_.epochs.size() + 1; epoch <= options_.epochs; ++epoch)
            if (!train_epoch(epoch)) break;
        return std::move(history_);
    }

private:
    static constexpr bool has_learning_rate = requires(Optimizer& o) { o.learning_rate; };

    // The running means of one epoch's training batches, weighted by batch size.
    struct Running {
        double loss = 0, correct = 0;
        std::size_t seen = 0;
        double mean_loss() const { return loss / double(seen); }
        double accuracy() const { return CountsCorrect<Loss> ? correct / double(seen) : not_measured; }
    };

    // Shuffle, every step, the evaluation, then the record's callbacks. False: training stopped.
    bool train_epoch(std::size_t epoch) {
        const auto start = clock::now();
        shuffle(order_, rng_);
        progress_.begin_epoch(epoch, options_.epochs, steps_);
        Running running;
        double step_seconds = 0;
        for (std::size_t s = 1; s <= steps_; ++s)
            if (!step(epoch, s, running, step_seconds)) return false;
        history_.times.add("train_steps", step_seconds);
        EpochRecord record = evaluate_epoch(epoch, running);
        record.seconds = std::chrono::duration<double>(clock::now() - start).count();
        if (!std::isfinite(record.val_loss)) {
            stop(Divergence{epoch, steps_, "validation loss is not finite"});
            return false;  // (evaluate has already made the layers forget its buffers)
        }
        record.learning_rate = last_learning_rate_;
        history_.epochs.push_back(record);
        progress_.end_epoch(record);
        if (diagnostics_.on_epoch_end) diagnostics_.on_epoch_end(record);
        const bool go_on = call_callbacks(record, false);  // before the state: a resumed run finds their files
        if (!go_on) progress_.stopped_early(*history_.stopped_early);
        if (options_.on_epoch_state) options_.on_epoch_state(state());
        return go_on;
    }

    // Every callback on record, in order; then the learning rate's factor from them all. False:
    // one of them stopped training (History::stopped_early says why).
    bool call_callbacks(const EpochRecord& record, bool replaying) {
        std::optional<std::string> why;
        callback_factor_ = 1;
        for (const auto& c : options_.callbacks) {
            std::optional<std::string> stop = c->on_epoch_end(record, replaying);
            if (stop && !why) why = std::move(stop);
            callback_factor_ *= c->learning_rate_factor();
        }
        if (why) history_.stopped_early = EarlyStop{record.epoch, std::move(*why)};
        else history_.stopped_early.reset();
        return !why;
    }

    // A resumed run: the callbacks see the restored history again, without acting outside
    // themselves, so that their state is the uninterrupted run's. False: the last restored
    // epoch had stopped training.
    bool replay_callbacks() {
        bool go_on = true;
        for (const EpochRecord& record : history_.epochs) go_on = call_callbacks(record, true);
        if (!go_on) progress_.stopped_early(*history_.stopped_early);
        return go_on;
    }

    // Where training stands after the last completed epoch.
    TrainingState state() const {
        TrainingState s;
        s.epochs_done = history_.epochs.size();
        s.global_step = global_step_;
        s.seed = options_.seed;
        s.batch_size = batch_;
        s.shuffle_rng = TrainingState::text_of(rng_);
        s.order.assign(order_.begin(), order_.end());
        s.epochs = history_.epochs;
        return s;
    }

    // Takes up a state saved after an epoch of a run like this one.
    void resume(const TrainingState& s) {
        auto refuse = [&](const std::string& what, std::size_t saved, std::size_t ours) {
            throw std::invalid_argument("layerwise: fit: the training state to resume from has " + what + " " +
                                        std::to_string(saved) + ", this fit " + std::to_string(ours));
        };
        if (s.seed != options_.seed) refuse("seed", s.seed, options_.seed);
        if (s.batch_size != batch_) refuse("batch size", s.batch_size, batch_);
        if (s.order.size() != n_) refuse("a training set of", s.order.size(), n_);
        if (s.epochs.size() != s.epochs_done) refuse("a history of", s.epochs.size(), s.epochs_done);
        std::vector<bool> seen(n_);
        for (std::uint64_t i : s.order) {
            if (i >= n_ || seen[i]) throw std::invalid_argument("layerwise: fit: the training state's sample order "
                                                                "is not an order of the training samples");
            seen[i] = true;
        }
        rng_ = s.generator();
        std::copy(s.order.begin(), s.order.end(), order_.begin());
        global_step_ = s.global_step;
        history_.epochs = s.epochs;
    }

    // Step s (1-based) of the epoch: the batch's forward and backward, the finite check, and
    // the optimizer's step only if the check passed. False: training stopped.
    bool step(std::size_t epoch, std::size_t s, Running& running, double& step_seconds) {
        const auto start = clock::now();
        const std::size_t first = (s - 1) * batch_, rows = std::min(batch_, n_ - first);
        Matrix<T>& x = rows == full_.shape(0) ? full_ : last_;
        gather_batch(train_, order_, first, x, targets_);
        T value;
        try {
            value = loss_.forward(net_.forward(x, Mode::train), targets_.view());
        } catch (const SampleError& e) {  // e counts from the batch's first row, in shuffled order
            forget_inputs(net_);
            throw SampleError("fit", order_[first + e.sample()], " of the training set", e.problem());
        }
        if (diagnostics_.input_gradient) net_.backward(loss_.backward());
        else backward_parameters(net_, loss_.backward());
        if (const std::string bad = why_not_finite(value); !bad.empty()) {
            history_.times.add("train_steps", step_seconds);
            stop(Divergence{epoch, s, bad});
            forget_inputs(net_);  // the batch buffers die here
            return false;
        }
        if (options_.clip_norm > 0) clip_gradient_norm(net_, options_.clip_norm);
        set_learning_rate();
        optimizer_.step(net_);
        ++global_step_;
        running.loss += double(value) * double(rows);
        if constexpr (CountsCorrect<Loss>) running.correct += double(loss_.correct());
        running.seen += rows;
        progress_.step(s, running.mean_loss(), running.accuracy());
        step_seconds += std::chrono::duration<double>(clock::now() - start).count();
        if (diagnostics_.on_step) diagnostics_.on_step(epoch, s, global_step_);
        return true;
    }

    // optimizer.learning_rate = base * schedule(global step) * callbacks, for the next step.
    void set_learning_rate() {
        if constexpr (has_learning_rate) {
            using R = std::remove_cvref_t<decltype(optimizer_.learning_rate)>;
            const double factor = options_.schedule.factor(global_step_, steps_, options_.epochs * steps_);
            optimizer_.learning_rate = static_cast<R>(double(base_learning_rate_) * factor * callback_factor_);
            last_learning_rate_ = double(optimizer_.learning_rate);
        }
    }

    // The finite check: what is wrong with the step's loss or gradients, or "". Every gradient
    // is checked before the optimizer touches anything, so that no update from a bad gradient
    // is applied: a run that diverges keeps the parameters of its last step. (Checked inside
    // the optimizer's update, a NaN found partway would come after the tensors before it were
    // updated.) It is one read of the gradients, small beside a step.
    std::string why_not_finite(T value) {
        if (!std::isfinite(value)) return std::isnan(value) ? "loss is NaN" : "loss is infinite";
        if (std::string g = first_nonfinite_gradient(net_); !g.empty()) return "gradient of " + g + " is not finite";
        return "";
    }

    // The epoch's record: its running means, the validation set and, if asked for, the first
    // training samples, both in inference mode (seconds: the caller's).
    EpochRecord evaluate_epoch(std::size_t epoch, const Running& running) {
        const Evaluation val = [&] {
            auto timed = history_.times.measure("evaluation");
            return evaluate_set(validation_, std::size_t(-1), " of the validation set");
        }();
        EpochRecord record{epoch, running.mean_loss(), running.accuracy(), val.loss, val.accuracy, 0};
        if (diagnostics_.inference_train_samples > 0) {
            auto timed = history_.times.measure("train_inference");
            const Evaluation t =
                evaluate_set(train_, diagnostics_.inference_train_samples, " of the training set");
            record.train_loss_inference = t.loss;
            record.train_accuracy_inference = t.accuracy;
        }
        return record;
    }

    // evaluate, its SampleError saying which set the sample is in.
    Evaluation evaluate_set(const Data& data, std::size_t limit, const char* of) {
        try {
            return evaluate(net_, loss_, data, options_.evaluation_batch_size, limit);
        } catch (const SampleError& e) {
            throw SampleError("fit", e.sample(), of, e.problem());
        }
    }

    void stop(const Divergence& d) {
        history_.divergence = d;
        progress_.diverged(d);
    }

    Net& net_;
    Optimizer& optimizer_;
    Loss loss_;
    const Data& train_;
    const Data& validation_;
    const FitOptions& options_;
    const FitDiagnostics& diagnostics_;
    const std::size_t n_, batch_, steps_;
    std::mt19937_64 rng_;
    std::vector<std::size_t> order_;  // the samples in this epoch's order
    Matrix<T> full_, last_;           // a full batch (batch x features), and the last, partial one
    TargetBatch<Targets> targets_;    // the batch's targets, gathered
    ProgressLine progress_;
    History history_;
    std::size_t global_step_ = 0;
    double base_learning_rate_ = 0;  // the optimizer's learning rate when fit started (exact in double)
    double callback_factor_ = 1;  // the product of the callbacks' learning_rate_factor()
    double last_learning_rate_ = not_measured;  // the learning rate of the last step
};

}  // namespace detail

/// Trains net on `train` with the given loss (whose target_type says what the targets are),
/// evaluating on `validation` after every epoch.
template <class Net, class Optimizer, LossFunction<typename Net::scalar_type> Loss>
History fit(Net& net, Optimizer& optimizer, Loss loss,
            const Samples<typename Net::scalar_type, typename Loss::target_type>& train,
            const Samples<typename Net::scalar_type, typename Loss::target_type>& validation,
            const FitOptions& options, const FitDiagnostics& diagnostics = {}) {
    using Loop = detail::FitLoop<Net, Optimizer, Loss>;
    Loop::check(train, validation, options);
    return Loop(net, optimizer, std::move(loss), train, validation, options, diagnostics).run();
}

/// Classification: fit with SoftmaxCrossEntropy on class labels.
template <class Net, class Optimizer>
History fit(Net& net, Optimizer& optimizer, const Samples<typename Net::scalar_type>& train,
            const Samples<typename Net::scalar_type>& validation, const FitOptions& options,
            const FitDiagnostics& diagnostics = {}) {
    return fit(net, optimizer, SoftmaxCrossEntropy<typename Net::scalar_type>{}, train, validation, options,
               diagnostics);
}

}  // namespace layerwise
