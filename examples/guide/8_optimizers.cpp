// docs/guide.md, section 11 (Optimizers and schedules): SGD with momentum and Nesterov's, an
// optimizer chosen at run time (AnyOptimizer), clipping by the global norm, and learning-rate
// schedules, built in and of one's own. Compiled and run as the test guide.optimizers.
#include "thirds.hpp"

#include <layerwise/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

using namespace layerwise;
using guide::require, guide::same_bits, guide::quiet;

using Net = Sequential<Dense<2, 64>, ReLU, Dense<64, 64>, ReLU, Dense<64, 3>>;

namespace {
// What the history says the rate of each epoch's last step was, against base x the schedule's
// factor there (fit computes base x factor in double and stores it in the optimizer's float).
bool rates_follow(const History& history, const LearningRateSchedule& schedule, float base, std::size_t steps_per_epoch) {
    const std::size_t total = steps_per_epoch * history.epochs.size();
    bool same = true;
    for (std::size_t e = 0; e < history.epochs.size(); ++e) {
        const std::size_t last_step = (e + 1) * steps_per_epoch - 1;
        const float want = static_cast<float>(double(base) * schedule.factor(last_step, steps_per_epoch, total));
        same = same && history.epochs[e].learning_rate == double(want);
    }
    return same;
}
}  // namespace

int main(int argc, char** argv) {
    const guide::Thirds data;  // 2000 training samples: 32 steps of 64 (the last one of 16)
    const Samples<float> train_set = data.train(), val_set = data.val();
    const std::size_t steps_per_epoch = 32;

    // SGD: plain, with momentum (v = m v - lr g; p += v), and with Nesterov's (p += m v - lr g).
    SGD<float> plain(0.05f), momentum(0.05f, 0.9f), nesterov(0.05f, 0.9f, /*nesterov=*/true);
    double loss[3];
    SGD<float>* sgds[3] = {&plain, &momentum, &nesterov};
    for (int k = 0; k < 3; ++k) {
        Net net;
        init(net, 1);
        loss[k] = fit(net, *sgds[k], train_set, val_set, quiet(5)).epochs.back().loss;
    }
    std::printf("SGD after 5 epochs, training loss: plain %.4f, momentum %.4f, Nesterov %.4f\n", loss[0], loss[1],
                loss[2]);
    require(loss[1] < loss[0] && loss[2] < loss[0], "momentum and Nesterov's go faster than plain SGD");

    // An optimizer chosen at run time: fit is compiled once, for AnyOptimizer, whatever it holds.
    const std::string choice = argc > 1 ? argv[1] : "adam";
    AnyOptimizer<float> chosen = choice == "sgd" ? AnyOptimizer<float>(SGD<float>(0.05f, 0.9f))
                                                 : AnyOptimizer<float>(Adam<float>(0.003f));
    Adam<float> adam(0.003f);
    Net through_any, direct;
    init(through_any, 1);
    init(direct, 1);
    fit(through_any, chosen, train_set, val_set, quiet(3));
    fit(direct, adam, train_set, val_set, quiet(3));
    std::printf("AnyOptimizer chose %s\n", std::string(chosen.name).c_str());
    require(choice != "adam" || same_bits(through_any.layer<4>().W, direct.layer<4>().W),
            "AnyOptimizer holding Adam gives Adam's bits");

    // Clipping by the global norm: before every step, all gradients together are scaled to a
    // 2-norm of at most clip_norm (torch.nn.utils.clip_grad_norm_). on_step sees the clipped ones.
    Net clipped;
    init(clipped, 1);
    Adam<float> adam_clipped(0.003f);
    FitOptions options = quiet(2);
    options.clip_norm = 0.5;
    FitDiagnostics diagnostics;
    double largest = 0;
    diagnostics.on_step = [&](std::size_t, std::size_t, std::size_t) {
        largest = std::max(largest, gradient_norm(clipped));
    };
    fit(clipped, adam_clipped, train_set, val_set, options, diagnostics);
    std::printf("the largest gradient norm a step used: %.6f\n", largest);
    require(largest <= 0.5, "no step used a gradient with a norm above clip_norm");

    // A schedule: warm up over 50 steps, then a cosine to zero over the run.
    Net warmed;
    init(warmed, 1);
    Adam<float> adam_scheduled(0.003f);
    options = quiet(4);
    options.schedule = parse_schedule("warmup:50+cosine");  // linear_warmup(50, cosine_decay())
    const History history = fit(warmed, adam_scheduled, train_set, val_set, options);
    for (const EpochRecord& r : history.epochs)
        std::printf("epoch %zu: learning rate %.6f, val_accuracy %.3f\n", r.epoch, r.learning_rate, r.val_accuracy);
    require(rates_follow(history, options.schedule, 0.003f, steps_per_epoch), "the rates follow warmup:50+cosine");
    require(adam_scheduled.learning_rate == 0.003f, "fit puts the optimizer's own rate back");

    // A schedule of one's own: any function of (step, steps per epoch, steps in the run).
    const LearningRateSchedule halving("halve every 40 steps", [](std::size_t step, std::size_t, std::size_t) {
        return std::pow(0.5, double(step / 40));
    });
    Net halved;
    init(halved, 1);
    Adam<float> adam_halved(0.003f);
    options.schedule = halving;
    const History halved_history = fit(halved, adam_halved, train_set, val_set, options);
    require(rates_follow(halved_history, halving, 0.003f, steps_per_epoch), "the rates follow one's own schedule");
    std::printf("val_accuracy: %.3f with warmup:50+cosine, %.3f halving every 40 steps\n",
                history.epochs.back().val_accuracy, halved_history.epochs.back().val_accuracy);
    require(history.epochs.back().val_accuracy > 0.9, "the scheduled run trains");
    return 0;
}
