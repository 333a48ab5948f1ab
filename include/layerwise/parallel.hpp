// layerwise/parallel.hpp — the threads layerwise uses for its own parallel work.
//
// OpenBLAS's threading loses on the small GEMMs of these networks (128 x 128 x 128 runs
// slower on 2 threads than on 1), so layerwise splits the work itself: with set_threads(n),
// each GEMM's output rows are cut into n bands, one per thread, each computed by a
// single-threaded BLAS call. Every element is computed by the same call sequence for a
// given n, so results are deterministic for a fixed thread count.
//
// The pool is process-wide: n - 1 workers plus the calling thread. Workers spin briefly,
// then sleep on an atomic wait, so that a step's ~150 hand-offs cost microseconds.
#pragma once

#include "blas_runtime.hpp"

#if defined(__linux__)
#include <sched.h>  // sched_getaffinity
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace layerwise {

/// The most threads set_threads accepts (layers keep per-thread partial sums in fixed arrays).
inline constexpr std::size_t max_threads = 8;

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

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

class ThreadPool {
public:
    ~ThreadPool() { resize(1); }

    std::size_t size() const { return workers_.size() + 1; }

    void resize(std::size_t n) {
        if (n == 0) n = 1;
        if (!workers_.empty()) {  // stop the old workers
            stop_.store(true);
            generation_.fetch_add(1);
            generation_.notify_all();
            for (auto& w : workers_) w.join();
            workers_.clear();
            stop_.store(false);
        }
        // Each worker starts from the generation of now: read here, not in the new thread,
        // or a run() issued before the thread gets going would be missed.
        const std::uint64_t start = generation_.load();
        for (std::size_t t = 1; t < n; ++t) workers_.emplace_back([this, t, start] { work(t, start); });
    }

    /// Runs f(part) for part = 0 .. size()-1, part 0 on the caller; returns when all are done.
    /// An exception thrown by any part is caught; run waits for every part to finish (f and
    /// what it refers to live on the caller's stack) and then rethrows, on the caller's
    /// thread, the exception of the lowest-numbered part that threw.
    void run(FunctionRef<void(std::size_t)> f) {
        if (workers_.empty()) {
            f(0);
            return;
        }
        for (auto& e : errors_) e = nullptr;
        task_ = f;
        pending_.store(workers_.size());
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        try {
            f(0);
        } catch (...) {
            errors_[0] = std::current_exception();
        }
        for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
            if (spin < 4096) relax();  // the other bands usually finish within microseconds:
            else std::this_thread::yield();  // spin first, since a yield is a system call
        }
        for (auto& e : errors_)
            if (e) std::rethrow_exception(std::exchange(e, nullptr));
    }

private:
    void work(std::size_t part, std::uint64_t seen) {
        for (;;) {
            std::uint64_t now = generation_.load(std::memory_order_acquire);
            for (int spin = 0; now == seen && spin < (1 << 22); ++spin) {  // ~ms: between two GEMMs
                relax();                                                     // of a step the wait is short
                now = generation_.load(std::memory_order_acquire);
            }
            if (now == seen) {
                generation_.wait(seen);
                continue;
            }
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
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> stop_{false};
    FunctionRef<void(std::size_t)> task_;  // set by run before each new generation
    std::array<std::exception_ptr, max_threads> errors_{};  // per part, written by that part only
};

inline ThreadPool& pool() {
    static ThreadPool p;
    return p;
}

}  // namespace detail

/// Threads for layerwise's own parallel work (1: everything on the calling thread).
/// BLAS itself is then kept single-threaded, so the two never oversubscribe the cores.
inline void set_threads(std::size_t n) {
    detail::pool().resize(n < 1 ? 1 : n > max_threads ? max_threads : n);
    set_blas_threads(1);
}

inline std::size_t threads() { return detail::pool().size(); }

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

/// Runs f(part, parts) on every thread of the pool, part 0 on the caller.
[[gnu::noinline]] inline void run_parts(FunctionRef<void(std::size_t, std::size_t)> f) {
    const std::size_t parts = threads();
    if (parts == 1) return f(0, 1);
    auto task = [&](std::size_t part) { f(part, parts); };
    pool().run(task);
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

/// Runs f(part, parts) on every thread of the pool, part 0 on the caller.
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

/// Per-thread partial column sums, kept by a layer so that summing allocates nothing.
template <class T, std::size_t N>
using ColumnPartials = std::array<std::array<T, N>, max_threads>;

/// sums[j] = sum over rows i < rows of term(i * N + j, j). The rows are cut into one band
/// per thread; each band sums into its own partial array and the partials are added in
/// band order, so the result is the same for the same thread count (with one thread, the
/// plain row-by-row sum).
template <class T, std::size_t N, class Term>
void column_sums(std::size_t rows, std::array<T, N>& sums, ColumnPartials<T, N>& partial, Term term) {
    const std::size_t parts = threads();
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
