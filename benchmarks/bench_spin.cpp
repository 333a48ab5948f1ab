// bench_spin — what layerwise's thread pool costs while it waits (include/layerwise/parallel.hpp).
//
//   bench_spin [rounds]        (default 200 rounds per measurement)
//
// 1. The spin bound: the wall time of detail::spin_until on a condition that never comes
//    true, i.e. how long a waiting thread spins before it sleeps (the budget plus the
//    overshoot of reading the clock only every pauses_per_clock_read pauses).
// 2. What an idle worker burns: after a task, the CPU time the pool's worker uses over the
//    next 5 ms, in which no work comes (its spin, then its way into the atomic wait).
// 3. Hand-off latency: the caller works (busy, on its own core) for a gap, then issues an
//    empty parallel_parts; measured from just before the call to the start of the worker's
//    band, and to the call's return. Gaps shorter than the budget find the worker spinning,
//    longer ones find it asleep. Says how often the two ran on the same CPU: a loaded
//    machine's scheduler may put them there, and then they take turns.
// 4. Whether the gaps of training fit in the budget: training steps of the seed's 25-layer
//    BatchNorm network (batch 128, RMSprop, as bench_train), counting the times the worker
//    went to sleep (its voluntary context switches) per step, over blocks of 10 steps.
// Medians, 90th percentiles and maxima; on a shared machine, other processes' load shows.
#include <layerwise/init.hpp>
#include <layerwise/loss/softmax_cross_entropy.hpp>
#include <layerwise/models/seed_mlp.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/parallel.hpp>

#include <pthread.h>
#include <sched.h>  // sched_getcpu
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace layerwise;
using Clock = std::chrono::steady_clock;

namespace {

double microseconds(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double thread_cpu_microseconds(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

// The q-quantile (0..1) of v, by sorting a copy: nearest rank.
double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

void print(const char* what, const std::vector<double>& v) {
    std::printf("%-52s median %8.1f us   p90 %8.1f us   max %8.1f us\n", what, quantile(v, 0.5), quantile(v, 0.9),
                quantile(v, 1.0));
}

// The times thread `tid` of this process has blocked (gone to sleep) so far.
long voluntary_switches(long tid) {
    std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::strtol(line.c_str() + 24, nullptr, 10);
    return -1;
}

void busy_for(Clock::duration d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until) {
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t rounds = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
    if (rounds == 0) {
        std::fprintf(stderr, "usage: bench_spin [rounds]\n");
        return 2;
    }
    std::printf("spin_budget %lld us, a clock read every %d pauses, %zu rounds, %u hardware threads\n",
                static_cast<long long>(detail::spin_budget.count()), detail::pauses_per_clock_read, rounds,
                std::thread::hardware_concurrency());

    // 1. The spin bound.
    std::vector<double> spin(rounds);
    for (double& s : spin) {
        const auto t0 = Clock::now();
        detail::spin_until([] { return false; });
        s = microseconds(Clock::now() - t0);
    }
    print("spin before sleeping (wall)", spin);

    // 2. An idle worker's CPU time.
    set_threads(2);
    clockid_t worker_clock{};
    parallel_parts([&](std::size_t part, std::size_t) {
        if (part == 1) pthread_getcpuclockid(pthread_self(), &worker_clock);
    });
    std::vector<double> idle(rounds);
    for (double& s : idle) {
        parallel_parts([](std::size_t, std::size_t) {});
        const double before = thread_cpu_microseconds(worker_clock);  // the worker is about to wait
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        s = thread_cpu_microseconds(worker_clock) - before;
    }
    print("idle worker's CPU time over the next 5 ms", idle);

    // 3. Hand-off latency against the gap since the last hand-off.
    for (const long gap_us : {0L, 10L, 25L, 40L, 60L, 100L, 1000L}) {
        std::vector<double> start(rounds), whole(rounds);
        std::size_t same_cpu = 0;
        for (std::size_t r = 0; r < rounds; ++r) {
            parallel_parts([](std::size_t, std::size_t) {});  // the worker has just finished a task
            busy_for(std::chrono::microseconds(gap_us));
            Clock::time_point band;
            int cpu[2] = {-1, -2};
            const auto t0 = Clock::now();
            parallel_parts([&](std::size_t part, std::size_t) {
                if (part == 1) band = Clock::now();
                cpu[part] = sched_getcpu();
            });
            const auto t1 = Clock::now();
            start[r] = microseconds(band - t0);
            whole[r] = microseconds(t1 - t0);
            same_cpu += cpu[0] == cpu[1];
        }
        const std::string gap = "gap " + std::to_string(gap_us) + " us: ";
        print((gap + "issue to worker's band start").c_str(), start);
        print((gap + "empty parallel_parts, call to return").c_str(), whole);
        if (same_cpu > 0)  // then the two take turns on one core, and every wait runs its full budget
            std::printf("  (caller and worker on the same CPU in %zu of %zu rounds)\n", same_cpu, rounds);
    }

    // 4. Sleeps of the worker during training steps.
    long worker_tid = 0;
    parallel_parts([&](std::size_t part, std::size_t) {
        if (part == 1) worker_tid = static_cast<long>(syscall(SYS_gettid));
    });
    auto net = std::make_unique<seed::BnMlp<25>>();
    init(*net, 1);
    RMSprop<float> opt;
    SoftmaxCrossEntropy<float> loss;
    Matrix<float> x = zeros<float>(128, 784);
    std::vector<int> y(128);
    std::mt19937_64 rng(1);
    for (auto& v : x) v = static_cast<float>(uniform01(rng));
    for (auto& label : y) label = static_cast<int>(rng() % 10);
    auto step = [&] {
        loss.forward(net->forward(x, Mode::train), y);
        backward_parameters(*net, loss.backward());
        opt.step(*net);
    };
    for (int s = 0; s < 20; ++s) step();
    // In blocks of 10 steps: reading /proc between blocks makes a gap of its own.
    std::vector<double> step_time(std::max<std::size_t>(rounds / 10, 5)), sleeps(step_time.size());
    for (std::size_t r = 0; r < step_time.size(); ++r) {
        const long before = voluntary_switches(worker_tid);
        const auto t0 = Clock::now();
        for (int s = 0; s < 10; ++s) step();
        step_time[r] = microseconds(Clock::now() - t0) / 10;
        sleeps[r] = static_cast<double>(voluntary_switches(worker_tid) - before) / 10;
    }
    print("training step, 25-layer BatchNorm MLP, batch 128", step_time);
    std::printf("%-52s median %8.1f      p90 %8.1f      max %8.1f\n", "the worker's sleeps per step", quantile(sleeps, 0.5),
                quantile(sleeps, 0.9), quantile(sleeps, 1.0));
    set_threads(1);
    return 0;
}
