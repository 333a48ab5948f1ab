#include "testing.hpp"

#include <layerwise/parallel.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

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
    std::array<std::array<float, 64>, max_threads> partial{};
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
