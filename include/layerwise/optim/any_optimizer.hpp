// layerwise/optim/any_optimizer.hpp — one of the library's optimizers, chosen at run time.
//
//   AnyOptimizer<float> opt = Adam<float>(3e-4f);       // or SGD, RMSprop, AdamW, set up as usual
//   fit(net, opt, train, validation, options);          // fit<Net, AnyOptimizer> is compiled once
//
// A program that takes --optimizer on its command line and trains many network types would
// otherwise compile fit once per (network, optimizer) pair. AnyOptimizer is an optimizer
// itself: fit sets its learning_rate, and step() hands it to the chosen optimizer and runs
// that optimizer's step, so the numbers are the chosen optimizer's to the bit. Its name is the
// chosen optimizer's, so a training checkpoint written through it resumes into the same
// optimizer used directly, and the reverse.
#pragma once

#include "adam.hpp"
#include "adamw.hpp"
#include "rmsprop.hpp"
#include "sgd.hpp"

#include <string_view>
#include <utility>
#include <variant>

namespace layerwise {

/// One of SGD, RMSprop, Adam and AdamW, chosen at run time (the top of this file).
template <class T = float>
class AnyOptimizer {
public:
    using Choice = std::variant<SGD<T>, RMSprop<T>, Adam<T>, AdamW<T>>;  ///< the optimizers it can hold

    T learning_rate;        ///< lr: given to the chosen optimizer at every step (fit's schedules set it)
    std::string_view name;  ///< the chosen optimizer's name ("Adam"), as in a checkpoint

    /// Holds `optimizer`, with its settings and state.
    template <class Optimizer>
        requires std::is_constructible_v<Choice, Optimizer>
    AnyOptimizer(Optimizer optimizer)  // NOLINT: implicit, so that `AnyOptimizer<> o = SGD<>(0.1f)` reads well
        : learning_rate(optimizer.learning_rate), name(Optimizer::name), chosen_(std::move(optimizer)) {}

    /// The chosen optimizer's step with learning_rate.
    template <class Net>
    void step(Net& net) {
        std::visit(
            [&](auto& o) {
                o.learning_rate = learning_rate;
                o.step(net);
            },
            chosen_);
    }

    /// The chosen optimizer's state, for checkpoints (io/training_state.hpp).
    template <class F>
    void visit_state(F&& f) {
        std::visit([&](auto& o) { o.visit_state(f); }, chosen_);
    }

    /// The chosen optimizer if it is an Optimizer, else nullptr: to read or change its settings
    /// other than the learning rate, which is AnyOptimizer's own (step() overwrites the chosen one's).
    template <class Optimizer>
    Optimizer* get() {
        return std::get_if<Optimizer>(&chosen_);
    }

private:
    Choice chosen_;
};

}  // namespace layerwise
