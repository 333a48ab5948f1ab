// layerwise/parallel.hpp — the threads layerwise uses for its own parallel work.
//
// OpenBLAS's threading loses on the small GEMMs of these networks (128 x 128 x 128 runs
// slower on 2 threads than on 1), so layerwise splits the work itself: with set_threads(n),
// each GEMM's output rows are cut into n bands, one per thread, each computed by a
// single-threaded BLAS call. Every element is computed by the same call sequence for a
// given n, whichever thread runs its band, so results are deterministic for a fixed n.
//
// Every thread that issues parallel work has a pool of its own: set_threads(n) gives the
// calling thread n - 1 workers, and the work it issues runs on them and on itself. Two
// threads that train or predict at once never share a worker, so nothing is locked and
// neither waits for the other (they then use the sum of their thread counts). A thread that
// has not called set_threads takes, when it first issues parallel work, the count of the
// latest set_threads call in the process (1 if none), so a count set in main also applies
// to the threads main starts afterwards. Inside a band, on a worker or on the caller's own
// band, parallel work runs on that thread alone: nesting cannot deadlock.
// (A single shared pool would need a lock, and callers would take turns; an explicit
// execution context would have to be passed through every layer's forward and backward.)
//
// An idle worker spins for at most spin_budget of wall time, reading the clock every
// pauses_per_clock_read pauses, then sleeps on an atomic wait: the hand-offs of a training
// step, which follow each other closely, find it spinning, and a pool left idle stops using
// its cores soon after. benchmarks/bench_spin.cpp measures both (docs/guide.md, section 6).
#pragma once

#include "blas_runtime.hpp"

#if defined(__linux__)
#include <sched.h>  // sched_getaffinity
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace layerwise {

/// The most threads set_threads gives one calling thread. It bounds how many threads a call
/// may start and the range command lines accept; no storage is sized by it.
inline constexpr std::size_t max_threads = 64;

namespace detail {

/// A non-owning reference to a callable void(Args...): an object pointer and a function
/// pointer. Passing kernels as a FunctionRef to the non-template dispatchers below means
/// each kernel body is compiled once, in its thunk, whatever thread count runs it. (With
/// std::function and templated dispatch, every kernel was compiled three times: inline on
/// the one-thread path, in parallel_rows and in std::function's handler; that was a good
/// part of the compile time of a network's translation unit.) The referenced callable must
/// outlive the call, which it does: it is a lambda on the caller's stack.
template <class Signature>
class FunctionRef;

template <class... Args>
class FunctionRef<void(Args...)> {
public:
    FunctionRef() = default;  // refers to nothing; calling it is a bug

    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>)
    FunctionRef(F& f)  // NOLINT: implicit, like std::function_ref
        : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* object, Args... args) { (*static_cast<F*>(object))(args...); }) {}

    void operator()(Args... args) const { call_(object_, args...); }

private:
    void* object_ = nullptr;
    void (*call_)(void*, Args...) = nullptr;
};

/// One spin-wait hint to the CPU: lets the other hyperthread of the core run and saves
/// power while a thread polls. Nothing where there is no such instruction.
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// How long a waiting thread spins before it gives up its core (a worker sleeps, a caller
/// yields): longer than the gaps between the hand-offs of a training step, short enough
/// that an idle pool stops using its cores soon after its last task.
inline constexpr std::chrono::microseconds spin_budget{50};

/// Pauses between two reads of the clock while spinning. A pause takes from a few to over a
/// hundred cycles depending on the CPU, so the budget is counted in time, not in pauses.
inline constexpr int pauses_per_clock_read = 16;

/// Polls done() with a pause between polls until it returns true (then true) or
/// spin_budget has passed (then false).
template <class Done>
bool spin_until(Done done) {
    if (done()) return true;
    const auto deadline = std::chrono::steady_clock::now() + spin_budget;
    do {
        for (int k = 0; k < pauses_per_clock_read; ++k) {
            relax();
            if (done()) return true;
        }
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

/// Whether this thread is running a band: a pool's worker always is, a caller is while
/// its own band runs. Parallel work issued from a band runs on that thread alone.
inline bool& in_band() {
    thread_local bool band = false;
    return band;
}

/// n - 1 workers that run, with the thread that owns the pool, the parts of a task. Only
/// the owning thread calls resize and run; the workers touch only the task, the counters
/// and their own part's error slot.
class ThreadPool {
public:
    ThreadPool() = default;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ~ThreadPool() { resize(1); }

    std::size_t size() const { return workers_.size() + 1; }

    void resize(std::size_t n) {
        if (n == 0) n = 1;
        if (n == size()) return;
        if (!workers_.empty()) {  // stop the old workers
            stop_.store(true);
            generation_.fetch_add(1, std::memory_order_release);
            generation_.notify_all();
            for (auto& w : workers_) w.join();
            workers_.clear();
            stop_.store(false);
        }
        errors_.assign(n, nullptr);
        // Each worker starts from the generation of now: read here, not in the new thread,
        // or a run() issued before the thread gets going would be missed.
        const std::uint32_t start = generation_.load();
        workers_.reserve(n - 1);
        for (std::size_t t = 1; t < n; ++t) workers_.emplace_back([this, t, start] { work(t, start); });
    }

    /// Runs f(part) for part = 0 .. size()-1, part 0 on the caller; returns when all are done.
    /// An exception thrown by any part is caught; run waits for every part to finish (f and
    /// what it refers to live on the caller's stack) and then rethrows, on the caller's
    /// thread, the exception of the lowest-numbered part that threw.
    void run(FunctionRef<void(std::size_t)> f) {
        struct Band {  // the caller's own band, also when f(0) throws
            bool outer = std::exchange(in_band(), true);
            ~Band() { in_band() = outer; }
        } band;
        if (workers_.empty()) {
            f(0);
            return;
        }
        task_ = f;
        pending_.store(workers_.size(), std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);  // publishes task_ and pending_
        generation_.notify_all();  // libstdc++ makes the system call only when a worker sleeps
        try {
            f(0);
        } catch (...) {
            errors_[0] = std::current_exception();
        }
        // The other bands usually finish within microseconds of this one: spin first, since
        // a yield is a system call, and yield (not sleep) after that, since they will not be long.
        auto done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
        if (!spin_until(done))
            while (!done()) std::this_thread::yield();
        std::exception_ptr first;  // and clear every slot for the next run
        for (auto& e : errors_) {
            if (!first) first = e;
            e = nullptr;
        }
        if (first) std::rethrow_exception(first);
    }

private:
    void work(std::size_t part, std::uint32_t seen) {
        in_band() = true;
        for (;;) {
            std::uint32_t now = seen;
            auto changed = [&] { return (now = generation_.load(std::memory_order_acquire)) != seen; };
            if (!spin_until(changed))
                do generation_.wait(seen, std::memory_order_acquire);
                while (!changed());
            seen = now;
            if (stop_.load()) return;
            try {
                task_(part);
            } catch (...) {
                errors_[part] = std::current_exception();  // rethrown by run on the caller's thread
            }
            pending_.fetch_sub(1, std::memory_order_release);
        }
    }

    std::vector<std::thread> workers_;
    // 32 bits: the width of Linux's futex, on which libstdc++ then waits directly. Only
    // equality is tested, so wrapping around is harmless.
    std::atomic<std::uint32_t> generation_{0};
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> stop_{false};
    FunctionRef<void(std::size_t)> task_;      // set by run before each new generation
    std::vector<std::exception_ptr> errors_;  // per part, written by that part only
};

/// The thread count of the latest set_threads call, taken by threads that have not chosen.
inline std::atomic<std::size_t> latest_threads{1};

/// What one calling thread has chosen (0: nothing yet) and its pool.
struct CallerThreads {
    std::size_t chosen = 0;
    ThreadPool pool;
};

inline CallerThreads& this_caller() {
    thread_local CallerThreads caller;
    return caller;
}

}  // namespace detail

/// Threads for the parallel work the calling thread issues (1: everything on the calling
/// thread), clamped to [1, max_threads]; also the count of threads that have not chosen yet
/// (see the top of this file). BLAS itself is then kept single-threaded, so the two never
/// oversubscribe the cores.
inline void set_threads(std::size_t n) {
    n = std::clamp<std::size_t>(n, 1, max_threads);
    detail::CallerThreads& caller = detail::this_caller();
    caller.chosen = n;
    detail::latest_threads.store(n);
    if (!detail::in_band()) caller.pool.resize(n);  // inside a band: at the next dispatch
    if (blas_threads() != 1) set_blas_threads(1);  // only if needed: another thread may be in a BLAS call
}

/// The threads the calling thread's parallel work runs on (1 inside a band).
inline std::size_t threads() {
    if (detail::in_band()) return 1;
    detail::CallerThreads& caller = detail::this_caller();
    if (caller.chosen == 0) caller.chosen = detail::latest_threads.load();
    return caller.chosen;
}

/// The cores this process may run on: its CPU affinity (what taskset, mpirun's binding or a
/// Slurm task's cgroup leave it), or all the machine's where there is no affinity to ask.
inline std::size_t available_cores() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
#endif
    return std::max(1u, std::thread::hardware_concurrency());
}

/// The fewest elements an element-wise pass gives each thread. Measured with
/// bench_train --threads 2 on the seed's 25-layer network (128 x 128 passes, 16384
/// elements, 2 cores): grains of 2048 to 8192 ran alike and about 10% faster than keeping
/// those passes (and the optimizer's) on the calling thread, which a grain of 65536 did.
inline constexpr std::size_t elementwise_grain = 4096;

namespace detail {

using RowTask = FunctionRef<void(std::size_t, std::size_t, std::size_t)>;  // (part, first, last)

/// Runs f(part, parts) on every thread of the calling thread's pool, part 0 on the caller.
[[gnu::noinline]] inline void run_parts(FunctionRef<void(std::size_t, std::size_t)> f) {
    const std::size_t parts = threads();
    if (parts == 1) return f(0, 1);
    ThreadPool& pool = this_caller().pool;
    pool.resize(parts);  // a thread that took latest_threads, or chose inside a band
    auto task = [&](std::size_t part) { f(part, parts); };
    pool.run(task);
}

/// Cuts rows [0, rows) into one band per thread and runs f(part, first, last) on each.
[[gnu::noinline]] inline void run_rows(std::size_t rows, RowTask f) {
    if (threads() == 1 || rows < 16 * threads()) return f(0, 0, rows);
    auto band = [&](std::size_t part, std::size_t parts) { f(part, rows * part / parts, rows * (part + 1) / parts); };
    run_parts(band);
}

/// run_rows for element-wise passes over a (rows x cols) matrix: these are memory-bound and
/// short, so they are shared only when each thread gets at least elementwise_grain elements.
[[gnu::noinline]] inline void run_elementwise(std::size_t rows, std::size_t cols, RowTask f) {
    if (rows * cols < elementwise_grain * threads()) return f(0, 0, rows);
    run_rows(rows, f);
}

}  // namespace detail

/// Runs f(part, parts) on every thread of the calling thread's pool, part 0 on the caller.
template <class F>
void parallel_parts(F&& f) {
    detail::run_parts(f);
}

/// Splits rows [0, rows) into one band per thread and runs f(part, first, last) on each
/// (a single band on the caller when there is one thread or too few rows to share).
template <class F>
void parallel_rows(std::size_t rows, F&& f) {
    detail::run_rows(rows, f);
}

/// parallel_rows for element-wise passes over a (rows x cols) matrix: these are memory-bound
/// and short, so they are shared only when each thread gets at least elementwise_grain elements.
template <class F>
void parallel_elementwise(std::size_t rows, std::size_t cols, F&& f) {
    detail::run_elementwise(rows, cols, f);
}

/// Per-band partial column sums, kept by a layer so that summing allocates nothing once it
/// has seen its thread count: column_sums grows it to threads() when that is more than it
/// holds, and never shrinks it.
template <class T, std::size_t N>
class ColumnPartials {
public:
    /// Room for at least `parts` partial sums (allocates only when it holds fewer).
    void grow_to(std::size_t parts) {
        if (bands_.size() < parts) bands_.resize(parts);
    }
    /// How many partial sums it holds.
    std::size_t size() const { return bands_.size(); }
    /// The partial sums of band `part`.
    std::array<T, N>& operator[](std::size_t part) { return bands_[part]; }
    /// The partial sums of band `part`.
    const std::array<T, N>& operator[](std::size_t part) const { return bands_[part]; }

private:
    std::vector<std::array<T, N>> bands_;
};

/// sums[j] = sum over rows i < rows of term(i * N + j, j). The rows are cut into one band
/// per thread; each band sums into its own partial array and the partials are added in
/// band order, so the result is the same for the same thread count (with one thread, the
/// plain row-by-row sum).
template <class T, std::size_t N, class Term>
void column_sums(std::size_t rows, std::array<T, N>& sums, ColumnPartials<T, N>& partial, Term term) {
    const std::size_t parts = threads();
    partial.grow_to(parts);
    for (std::size_t p = 0; p < parts; ++p) partial[p].fill(T(0));
    parallel_elementwise(rows, N, [&](std::size_t part, std::size_t first, std::size_t last) {
        std::array<T, N> acc{};  // a local: the compiler can see that no input aliases it, so the
        for (std::size_t i = first; i < last; ++i)  // j loop vectorizes
            for (std::size_t j = 0; j < N; ++j) acc[j] += term(i * N + j, j);
        partial[part] = acc;
    });
    sums = partial[0];
    for (std::size_t p = 1; p < parts; ++p)
        for (std::size_t j = 0; j < N; ++j) sums[j] += partial[p][j];
}

}  // namespace layerwise
