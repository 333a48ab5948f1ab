// Checkpoints that resume: a run stopped after an epoch and taken up again from its training
// state gives the bits of a run that never stopped; a state that does not fit is refused
// before anything changes.
#include "blobs.hpp"
#include "testing.hpp"

#include <layerwise/io/training_state.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/optim/adam.hpp>
#include <layerwise/optim/adamw.hpp>
#include <layerwise/optim/any_optimizer.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/optim/sgd.hpp>
#include <layerwise/train/callbacks.hpp>
#include <layerwise/train/schedule.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace layerwise;
using layerwise::testing::Blobs;
using layerwise::testing::TempDir;

namespace {

using Net = Sequential<Dense<6, 16>, BatchNorm<16>, ReLU, Dense<16, 16>, BatchNorm<16>, ReLU, Dense<16, 3>>;

template <class N>
std::vector<std::vector<float>> parameters_of(N& net) {
    std::vector<std::vector<float>> out;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { out.emplace_back(value.begin(), value.end()); });
    return out;
}

FitOptions quiet(std::size_t epochs) {
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = 32;  // 300 samples: 10 steps, the last one partial
    o.seed = 9;
    o.verbosity = Verbosity::quiet;
    return o;
}

// Every column of the records but the wall time.
void check_same_history(const History& a, const History& b) {
    REQUIRE(a.epochs.size() == b.epochs.size());
    for (std::size_t e = 0; e < a.epochs.size(); ++e) {
        CAPTURE(e);
        CHECK(a.epochs[e].epoch == b.epochs[e].epoch);
        CHECK(a.epochs[e].loss == b.epochs[e].loss);
        CHECK(a.epochs[e].accuracy == b.epochs[e].accuracy);
        CHECK(a.epochs[e].val_loss == b.epochs[e].val_loss);
        CHECK(a.epochs[e].val_accuracy == b.epochs[e].val_accuracy);
        CHECK(a.epochs[e].learning_rate == b.epochs[e].learning_rate);
    }
}

// 5 epochs in one go, and the same run stopped after `stop` epochs and resumed from its
// checkpoint by a new process's objects (a network and an optimizer constructed afresh).
template <class Optimizer, class N = Net>
void resume_is_bit_identical(std::size_t stop) {
    const Blobs train(300, 1), val(90, 2);
    N whole;
    init(whole, 3);
    Optimizer opt_whole(1e-2f);
    const History straight = fit(whole, opt_whole, train.samples(), val.samples(), quiet(5));

    TempDir dir("resume");
    {
        auto net = std::make_unique<N>();
        init(*net, 3);
        Optimizer opt(1e-2f);
        io::TrainingCheckpoint checkpoint(dir / "state.npz", *net, opt);
        CHECK(checkpoint.resumed() == nullptr);
        fit(*net, opt, train.samples(), val.samples(), checkpoint.options(quiet(stop)));
    }
    auto net = std::make_unique<N>();  // other initial values: the checkpoint must replace them all
    init(*net, 77);
    Optimizer opt(1e-2f);
    io::TrainingCheckpoint checkpoint(dir / "state.npz", *net, opt);
    REQUIRE(checkpoint.resumed() != nullptr);
    CHECK(checkpoint.resumed()->epochs_done == stop);
    const History resumed = fit(*net, opt, train.samples(), val.samples(), checkpoint.options(quiet(5)));
    check_same_history(straight, resumed);
    CHECK(parameters_of(*net) == parameters_of(whole));
    // and the file now holds the finished run
    N reloaded;
    Optimizer opt2(1e-2f);
    const TrainingState last = io::load_training_state(dir / "state.npz", reloaded, opt2);
    CHECK(last.epochs_done == 5);
    CHECK(parameters_of(reloaded) == parameters_of(whole));
}

}  // namespace

TEST_CASE("a run resumed from its checkpoint gives the bits of one that never stopped") {
    SUBCASE("RMSprop, after 2 of 5 epochs") { resume_is_bit_identical<RMSprop<float>>(2); }
    SUBCASE("Adam (its step count matters), after 3 of 5") { resume_is_bit_identical<Adam<float>>(3); }
    SUBCASE("AdamW, after 2 of 5") { resume_is_bit_identical<AdamW<float>>(2); }
    SUBCASE("SGD with momentum, after 1 of 5") {
        struct Momentum : SGD<float> {
            explicit Momentum(float lr) : SGD<float>(lr, 0.9f) {}
        };
        resume_is_bit_identical<Momentum>(1);
    }
    SUBCASE("a network with Dropout and AlphaDropout (their draw counters matter), after 2 of 5") {
        using Dropped = Sequential<Dense<6, 16>, ReLU, Dropout<>, Dense<16, 16>, SELU, AlphaDropout<>, Dense<16, 3>>;
        resume_is_bit_identical<RMSprop<float>, Dropped>(2);
    }
    SUBCASE("AnyOptimizer holding Adam, after 3 of 5") {
        struct AnyAdam : AnyOptimizer<float> {
            explicit AnyAdam(float lr) : AnyOptimizer<float>(Adam<float>(lr)) {}
        };
        resume_is_bit_identical<AnyAdam>(3);
    }
}

TEST_CASE("a checkpoint written through AnyOptimizer is the chosen optimizer's: it loads into that optimizer alone") {
    const Blobs train(300, 1), val(90, 2);
    TempDir dir("any_optimizer");
    Net net;
    AnyOptimizer<float> any = Adam<float>(1e-2f);
    {
        io::TrainingCheckpoint checkpoint(dir / "state.npz", net, any);
        fit(net, any, train.samples(), val.samples(), checkpoint.options(quiet(2)));
    }
    Net direct;
    Adam<float> adam;
    CHECK(io::load_training_state(dir / "state.npz", direct, adam).epochs_done == 2);
    CHECK(parameters_of(direct) == parameters_of(net));
    AnyOptimizer<float> sgd = SGD<float>(0.1f, 0.9f);
    CHECK_THROWS_WITH_AS(io::load_training_state(dir / "state.npz", direct, sgd),
                         ((dir / "state.npz").string() + ": optimizer/__name__.npy: the state of Adam, not of SGD").c_str(),
                         io::CheckpointError);
}

TEST_CASE("a checkpoint holds the network as save_npz writes it, so load_npz reads its parameters") {
    const Blobs train(300, 1), val(90, 2);
    TempDir dir("state_npz");
    Net net;
    Adam<float> opt;
    io::TrainingCheckpoint checkpoint(dir / "state.npz", net, opt);
    fit(net, opt, train.samples(), val.samples(), checkpoint.options(quiet(1)));
    Net other;
    io::load_npz(other, dir / "state.npz");
    CHECK(parameters_of(other) == parameters_of(net));
}

TEST_CASE("a training state that does not fit is refused, and nothing changes") {
    const Blobs train(300, 1), val(90, 2);
    TempDir dir("state_refused");
    {
        Net net;
        RMSprop<float> opt(1e-2f);
        io::TrainingCheckpoint checkpoint(dir / "state.npz", net, opt);
        fit(net, opt, train.samples(), val.samples(), checkpoint.options(quiet(1)));
    }
    SUBCASE("another optimizer") {
        Net net;
        const auto before = parameters_of(net);
        Adam<float> adam;
        CHECK_THROWS_WITH_AS(io::load_training_state(dir / "state.npz", net, adam),
                             ((dir / "state.npz").string() + ": optimizer/__name__.npy: the state of RMSprop, not of Adam").c_str(),
                             io::CheckpointError);
        CHECK(parameters_of(net) == before);
    }
    SUBCASE("another network") {
        Sequential<Dense<6, 16>, ReLU, Dense<16, 3>> net;
        RMSprop<float> opt;
        CHECK_THROWS_AS(io::load_training_state(dir / "state.npz", net, opt), io::CheckpointError);
    }
    SUBCASE("another seed, batch size or training set") {
        Net net;
        RMSprop<float> opt(1e-2f);
        io::TrainingCheckpoint checkpoint(dir / "state.npz", net, opt);
        FitOptions o = quiet(3);
        o.seed = 10;
        CHECK_THROWS_WITH_AS(fit(net, opt, train.samples(), val.samples(), checkpoint.options(o)),
                             "layerwise: fit: the training state to resume from has seed 9, this fit 10",
                             std::invalid_argument);
        o = quiet(3);
        o.batch_size = 64;
        CHECK_THROWS_WITH_AS(fit(net, opt, train.samples(), val.samples(), checkpoint.options(o)),
                             "layerwise: fit: the training state to resume from has batch size 32, this fit 64",
                             std::invalid_argument);
        const Blobs more(301, 1);
        CHECK_THROWS_WITH_AS(fit(net, opt, more.samples(), val.samples(), checkpoint.options(quiet(3))),
                             "layerwise: fit: the training state to resume from has a training set of 300, this fit 301",
                             std::invalid_argument);
    }
}

TEST_CASE("attachments round trip at any size a state file holds; a larger one is refused and the file kept") {
    const Blobs train(300, 1), val(90, 2);
    TempDir dir("state_attachments");
    const auto file = dir / "state.npz";
    Net net;
    RMSprop<float> opt(1e-2f);
    {
        io::TrainingCheckpoint checkpoint(file, net, opt);
        fit(net, opt, train.samples(), val.samples(), checkpoint.options(quiet(1)));
    }
    TrainingState state = io::load_training_state(file, net, opt);
    // A recorder's CSV of a deep net outgrows a megabyte within a few epochs.
    std::string csv;
    for (int line = 0; csv.size() < (std::size_t(3) << 20); ++line) csv += std::to_string(line) + ",0.125,-3e-05\n";
    state.attachments["recorder/gradients.csv"] = csv;
    state.attachments["empty"] = "";
    io::save_training_state(file, net, opt, state);
    CHECK(io::load_training_state(file, net, opt).attachments == state.attachments);

    TrainingState too_large = state;
    too_large.attachments["recorder/gradients.csv"].resize(io::detail::max_text_bytes + 1, 'x');
    CHECK_THROWS_WITH_AS(io::save_training_state(file, net, opt, too_large),
                         (file.string() + ": attachments/recorder/gradients.csv.npy: 268435457 bytes, more than the "
                                          "268435456 a state file holds (the file is left as it was)")
                             .c_str(),
                         io::CheckpointError);
    CHECK(io::load_training_state(file, net, opt).attachments == state.attachments);
}

namespace {

// A run whose learning rate moves: warm-up and cosine by step, and ReduceLROnPlateau halving it
// after every second epoch (no epoch after the first improves by 1e9), with KeepBest counting
// its saves; the callbacks are new objects, as in a new process.
struct Killed {};  // what stops the first process

struct MovingRate {
    std::shared_ptr<ReduceLROnPlateau> plateau = std::make_shared<ReduceLROnPlateau>("val_loss", 0.5, 2);
    std::vector<std::size_t> saved;  // the epochs KeepBest saved
    FitOptions options(std::size_t epochs) {
        FitOptions o = quiet(epochs);
        o.schedule = parse_schedule("warmup:15+cosine:0.1");
        o.clip_norm = 1.0;
        plateau->min_delta = 1e9;
        o.callbacks = {plateau, std::make_shared<KeepBest>([this](const EpochRecord& r) { saved.push_back(r.epoch); })};
        return o;
    }
};

}  // namespace

TEST_CASE("a run with a schedule and ReduceLROnPlateau, resumed after epoch k, gives the bits of one that never stopped") {
    const Blobs train(300, 1), val(90, 2);
    Net whole;
    init(whole, 3);
    Adam<float> opt_whole(1e-2f);
    MovingRate straight_run;
    const History straight = fit(whole, opt_whole, train.samples(), val.samples(), straight_run.options(6));
    REQUIRE(straight.epochs.size() == 6);
    CHECK(straight_run.plateau->reductions() == 2);
    CHECK(opt_whole.learning_rate == 1e-2f);
    for (std::size_t stop : {std::size_t(1), std::size_t(2), std::size_t(4)}) {
        CAPTURE(stop);
        TempDir dir("resume_rate");
        std::vector<std::size_t> saved;
        {
            auto net = std::make_unique<Net>();
            init(*net, 3);
            Adam<float> opt(1e-2f);
            MovingRate first;
            io::TrainingCheckpoint checkpoint(dir / "state.npz", *net, opt);
            // a run of 6 epochs (the cosine spans them all), killed once epoch `stop` is saved
            FitOptions o = checkpoint.options(first.options(6));
            o.on_epoch_state = [&, save = std::move(o.on_epoch_state)](const TrainingState& state) {
                save(state);
                if (state.epochs_done == stop) throw Killed{};
            };
            CHECK_THROWS_AS(fit(*net, opt, train.samples(), val.samples(), o), Killed);
            CHECK(opt.learning_rate == 1e-2f);  // the base, back however fit ends
            saved = first.saved;
        }
        auto net = std::make_unique<Net>();
        init(*net, 77);
        Adam<float> opt(1e-2f);
        MovingRate second;
        io::TrainingCheckpoint checkpoint(dir / "state.npz", *net, opt);
        REQUIRE(checkpoint.resumed() != nullptr);
        const History resumed = fit(*net, opt, train.samples(), val.samples(), checkpoint.options(second.options(6)));
        check_same_history(straight, resumed);
        CHECK(parameters_of(*net) == parameters_of(whole));
        CHECK(second.plateau->reductions() == 2);
        // KeepBest saved each improvement once: before the stop in the first process, after it in the second
        saved.insert(saved.end(), second.saved.begin(), second.saved.end());
        CHECK(saved == straight_run.saved);
        CHECK(opt.learning_rate == 1e-2f);
    }
}

TEST_CASE("a run that stopped early, resumed from its last checkpoint, stops again without training") {
    const Blobs train(300, 1), val(90, 2);
    TempDir dir("resume_stopped");
    auto options = [] {
        FitOptions o = quiet(10);
        auto stop = std::make_shared<EarlyStopping>("val_loss", 1);
        stop->min_delta = 1e9;  // only the first epoch improves: stop after the second
        o.callbacks = {stop};
        return o;
    };
    History first;
    {
        Net net;
        RMSprop<float> opt(1e-2f);
        io::TrainingCheckpoint checkpoint(dir / "state.npz", net, opt);
        first = fit(net, opt, train.samples(), val.samples(), checkpoint.options(options()));
    }
    REQUIRE(first.stopped_early);
    CHECK(first.stopped_early->epoch == 2);
    Net net;
    RMSprop<float> opt(1e-2f);
    io::TrainingCheckpoint checkpoint(dir / "state.npz", net, opt);
    const auto before = parameters_of(net);
    const History again = fit(net, opt, train.samples(), val.samples(), checkpoint.options(options()));
    CHECK(again.epochs.size() == 2);
    REQUIRE(again.stopped_early);
    CHECK(again.stopped_early->why == first.stopped_early->why);
    CHECK(parameters_of(net) == before);  // no step was taken
}
