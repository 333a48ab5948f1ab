#include "blobs.hpp"
#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/optim/sgd.hpp>
#include <layerwise/parallel.hpp>
#include <layerwise/train/fit.hpp>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace layerwise;

namespace {
// Two threads for the test's duration, back to one after it (also when it fails).
struct TwoThreads {
    TwoThreads() { set_threads(2); }
    ~TwoThreads() { set_threads(1); }
};
}  // namespace

TEST_CASE("parallel_parts runs every part once, part 0 on the caller") {
    const TwoThreads two;
    std::atomic<int> mask{0};
    const auto caller = std::this_thread::get_id();
    bool part0_on_caller = false;
    parallel_parts([&](std::size_t part, std::size_t parts) {
        CHECK(parts == 2);
        mask |= 1 << part;
        if (part == 0) part0_on_caller = std::this_thread::get_id() == caller;
    });
    CHECK(mask == 3);
    CHECK(part0_on_caller);
}

TEST_CASE("an exception in the caller's band is rethrown only after the worker's band has finished") {
    const TwoThreads two;
    std::atomic<bool> worker_done{false};
    CHECK_THROWS_WITH_AS(parallel_parts([&](std::size_t part, std::size_t) {
                             if (part == 0) throw std::runtime_error("band 0 failed");
                             std::this_thread::sleep_for(std::chrono::milliseconds(50));
                             worker_done = true;
                         }),
                         "band 0 failed", std::runtime_error);
    CHECK(worker_done);  // run did not return while the worker still used the task
}

TEST_CASE("an exception in a worker's band reaches the caller instead of terminating") {
    const TwoThreads two;
    CHECK_THROWS_WITH_AS(parallel_parts([&](std::size_t part, std::size_t) {
                             if (part == 1) throw std::invalid_argument("band 1 failed");
                         }),
                         "band 1 failed", std::invalid_argument);
    SUBCASE("when both throw, the lowest band's exception wins") {
        CHECK_THROWS_WITH_AS(parallel_parts([&](std::size_t part, std::size_t) {
                                 throw std::runtime_error("band " + std::to_string(part));
                             }),
                             "band 0", std::runtime_error);
    }
    // and the pool still works afterwards
    std::atomic<int> runs{0};
    for (int k = 0; k < 100; ++k) parallel_parts([&](std::size_t, std::size_t) { ++runs; });
    CHECK(runs == 200);
}

TEST_CASE("many short parallel passes, for ThreadSanitizer to explore interleavings") {
    const TwoThreads two;
    ColumnPartials<float, 64> partial{};
    std::array<float, 64> sums{};
    for (int round = 0; round < 2000; ++round) {
        column_sums(2 * elementwise_grain / 64 * 2, sums, partial, [&](std::size_t k, std::size_t) {
            return static_cast<float>(k % 3);
        });
    }
    const std::size_t rows = 2 * elementwise_grain / 64 * 2;
    float expected = 0;
    for (std::size_t i = 0; i < rows; ++i) expected += static_cast<float>((i * 64) % 3);
    CHECK(sums[0] == expected);
}

TEST_CASE("column_sums grows its partials to the thread count, and only then") {
    ColumnPartials<double, 4> partial{};
    CHECK(partial.size() == 0);  // a layer's partials cost nothing until it sums
    std::array<double, 4> sums{};
    // 4 columns: a pass is shared when rows * 4 >= elementwise_grain * threads()
    const std::size_t rows = 3 * elementwise_grain;
    auto term = [](std::size_t k, std::size_t j) { return static_cast<double>(k % 7) + 0.25 * static_cast<double>(j); };
    auto band_sum = [&](std::size_t first, std::size_t last, std::size_t j) {
        double s = 0;
        for (std::size_t i = first; i < last; ++i) s += term(i * 4 + j, j);
        return s;
    };
    set_threads(1);
    column_sums(rows, sums, partial, term);
    CHECK(partial.size() == 1);
    CHECK(sums[2] == band_sum(0, rows, 2));
    set_threads(3);
    column_sums(rows, sums, partial, term);
    CHECK(partial.size() == 3);
    // the bands' sums, added in band order
    const double three = (band_sum(0, rows / 3, 1) + band_sum(rows / 3, 2 * rows / 3, 1)) + band_sum(2 * rows / 3, rows, 1);
    CHECK(sums[1] == three);
    set_threads(2);
    column_sums(rows, sums, partial, term);
    CHECK(partial.size() == 3);  // kept: a larger count already fits
    CHECK(sums[0] == band_sum(0, rows / 2, 0) + band_sum(rows / 2, rows, 0));
    set_threads(1);
}

TEST_CASE("set_threads applies to the calling thread; a thread that has not chosen takes the latest count") {
    set_threads(2);
    CHECK(threads() == 2);
    std::size_t in_chooser = 0, in_follower = 0, in_follower_after = 0;
    std::thread([&] {
        set_threads(3);
        in_chooser = threads();
    }).join();
    CHECK(threads() == 2);  // another thread's choice does not change this one's
    std::thread([&] {
        in_follower = threads();  // has not chosen: the latest count, 3
        set_threads(1);
        in_follower_after = threads();
    }).join();
    CHECK(in_chooser == 3);
    CHECK(in_follower == 3);
    CHECK(in_follower_after == 1);
    CHECK(threads() == 2);
    set_threads(1);
}

TEST_CASE("inside a band, parallel work runs on that band's thread alone") {
    const TwoThreads two;
    std::atomic<int> inner_parts{0}, inner_threads{0};
    parallel_parts([&](std::size_t, std::size_t) {
        inner_threads += static_cast<int>(threads());
        parallel_parts([&](std::size_t, std::size_t parts) { inner_parts += static_cast<int>(parts); });
    });
    CHECK(inner_threads == 2);  // 1 in each of the two bands
    CHECK(inner_parts == 2);    // each band's nested call: one part
    CHECK(threads() == 2);      // and outside the bands, two again
}

namespace {
using layerwise::testing::Blobs;  // tests/blobs.hpp

// Batches of 128 rows and a width of 64: every GEMM, the BatchNorm and ReLU passes and the
// column sums are cut into two bands on two threads (128 * 64 >= 2 * elementwise_grain).
using SmallNet = Sequential<Dense<6, 64>, BatchNorm<64>, ReLU, Dense<64, 3>>;
static_assert(128 * 64 >= 2 * elementwise_grain);

struct Trained {
    History history;
    std::vector<std::vector<std::uint32_t>> parameters;  // every parameter's bits, in walk order
    std::size_t threads = 0;                             // threads() while it trained
};

template <class Optimizer>
Trained train_small(std::uint64_t seed) {
    const Blobs train(512, seed), val(128, seed + 100);
    auto net = std::make_unique<SmallNet>();
    init(*net, seed);
    Optimizer opt;
    FitOptions o;
    o.epochs = 3;
    o.batch_size = 128;
    o.seed = seed;
    o.verbosity = Verbosity::quiet;
    Trained t;
    t.threads = threads();
    t.history = fit(*net, opt, train.samples(), val.samples(), o);
    for_each_parameter(*net, [&](const ParameterInfo&, auto& value, auto&) {
        auto& bits = t.parameters.emplace_back();
        for (float v : value) bits.push_back(std::bit_cast<std::uint32_t>(v));
    });
    return t;
}

void check_same(const Trained& a, const Trained& b) {
    REQUIRE(a.history.epochs.size() == b.history.epochs.size());
    CHECK_FALSE(a.history.divergence);
    for (std::size_t e = 0; e < a.history.epochs.size(); ++e) {
        CHECK(a.history.epochs[e].loss == b.history.epochs[e].loss);  // exact, not approximate
        CHECK(a.history.epochs[e].accuracy == b.history.epochs[e].accuracy);
        CHECK(a.history.epochs[e].val_loss == b.history.epochs[e].val_loss);
        CHECK(a.history.epochs[e].val_accuracy == b.history.epochs[e].val_accuracy);
    }
    CHECK(a.parameters == b.parameters);
}
}  // namespace

TEST_CASE("two threads, each on two threads, train at once, and get the bits of the same runs one after the other") {
    // What used to hang: two std::threads each calling set_threads(2) and fit at once.
    Trained a, b;
    std::latch start(2);  // both fits begin together
    std::thread ta([&] {
        set_threads(2);
        start.arrive_and_wait();
        a = train_small<RMSprop<float>>(1);
    });
    std::thread tb([&] {
        set_threads(2);
        start.arrive_and_wait();
        b = train_small<SGD<float>>(2);
    });
    ta.join();
    tb.join();
    CHECK(a.threads == 2);
    CHECK(b.threads == 2);

    set_threads(2);
    const Trained a_alone = train_small<RMSprop<float>>(1);
    const Trained b_alone = train_small<SGD<float>>(2);
    set_threads(1);
    CHECK(a_alone.threads == 2);
    check_same(a, a_alone);
    check_same(b, b_alone);
    CHECK(a.history.epochs.back().loss < a.history.epochs.front().loss);  // they did learn
    CHECK(b.history.epochs.back().loss < b.history.epochs.front().loss);
    CHECK(a.parameters != b.parameters);
}
