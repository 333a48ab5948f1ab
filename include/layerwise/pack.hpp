// layerwise/pack.hpp — one vector register of floats or doubles, without intrinsics headers.
//
// A Pack<T> is a GCC/Clang vector type of 32 bytes with AVX, 16 with SSE2 (x86-64's
// baseline): the compilers give it +, -, *, / with scalars broadcast, and lane_sqrt is the
// one instruction that the language cannot spell. On other targets Pack<T> is T and the
// loops that use it are scalar. Every operation is an IEEE element-wise one, so a lane
// computes what a scalar loop does. Used by the optimizers' updates (optim/elementwise.hpp)
// the few-row matrix product of batch-1 inference (small_gemm.hpp), fit's finite check and
// the check of every sample for NaN and infinity (sample_error.hpp).
//
// Why not xsimd, which does this in general: its headers and their instantiation are a large
// part of the compile time of every translation unit that trains a network. Why not
// <immintrin.h>: with -march=native on an AVX-512 machine it is tens of thousands of lines,
// for one instruction. The
// square roots are the compilers' builtins that <immintrin.h> itself wraps (_mm_sqrt_ps is
// __builtin_ia32_sqrtps, _mm256_sqrt_ps is __builtin_ia32_sqrtps256, the same in GCC and
// Clang). AVX-512's zmm is not used: the loops are memory-bound, and its builtin differs
// between the two compilers.
#pragma once

#include "config.hpp"  // first: a build older than C++20 stops there, with one message

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#define LAYERWISE_X86_PACKS 1
#endif

namespace layerwise {

#if defined(LAYERWISE_X86_PACKS)
#if defined(__AVX__)
inline constexpr std::size_t pack_bytes = 32;  // one ymm register
#else
inline constexpr std::size_t pack_bytes = 16;  // xmm
#endif
using PackFloat = float __attribute__((vector_size(pack_bytes)));
using PackDouble = double __attribute__((vector_size(pack_bytes)));
#endif

/// A vector of T for the target (see above); T itself when it has none.
template <class T>
struct PackOf {
    using type = T;  ///< T: no vector type on this target
};
#if defined(LAYERWISE_X86_PACKS)
template <>
struct PackOf<float> {
    using type = PackFloat;
};
template <>
struct PackOf<double> {
    using type = PackDouble;
};
#endif

/// A vector of T for the target, or T itself (see PackOf).
template <class T>
using Pack = typename PackOf<T>::type;

/// Loads and stores of V (a scalar, or a Pack) from unaligned memory.
template <class V>
struct Lanes {
    /// The V at p (one unaligned load).
    template <class T>
    static V load(const T* p) {
        V v;
        std::memcpy(&v, p, sizeof v);  // one unaligned load
        return v;
    }
    /// Stores v at p (one unaligned store).
    template <class T>
    static void store(T* p, const V& v) {
        std::memcpy(p, &v, sizeof v);
    }
};

/// Loads and stores of a scalar: the tail of a loop over packs.
template <class T>
    requires std::is_arithmetic_v<T>
struct Lanes<T> {
    /// *p.
    static T load(const T* p) { return *p; }
    /// *p = v.
    static void store(T* p, T v) { *p = v; }
};

/// Makes the compiler hold v in a register at this point: an empty asm statement that takes v
/// in a vector register and gives it back. Without it GCC folds a load that several FMAs use
/// into each of them as a memory operand, loading it once per use; with more loads than FMAs
/// the load ports, not the FMA units, set the pace (small_gemm.hpp). A no-op elsewhere.
template <class V>
inline void keep_in_register([[maybe_unused]] V& v) {
#if defined(LAYERWISE_X86_PACKS)
    asm("" : "+x"(v));
#endif
}

/// sqrt of a scalar (std::sqrt) or of every lane of a Pack (the instruction).
template <class T>
    requires std::is_floating_point_v<T>
T lane_sqrt(T x) {
    return std::sqrt(x);
}

#if defined(LAYERWISE_X86_PACKS)
#if defined(__AVX__)
inline PackFloat lane_sqrt(PackFloat x) { return __builtin_ia32_sqrtps256(x); }   // vsqrtps ymm
inline PackDouble lane_sqrt(PackDouble x) { return __builtin_ia32_sqrtpd256(x); }  // vsqrtpd ymm
#else
inline PackFloat lane_sqrt(PackFloat x) { return __builtin_ia32_sqrtps(x); }   // sqrtps xmm
inline PackDouble lane_sqrt(PackDouble x) { return __builtin_ia32_sqrtpd(x); }  // sqrtpd xmm
#endif
#endif

/// The sum of f(V) over the n values at v, where f maps a pack (or, in the tail, a scalar) to
/// what is summed: four packs of independent sums, because one float sum does not vectorize
/// (addition does not reassociate) and one pack's sums would wait on the add's latency. The
/// order of the additions is fixed for a given n, but it is not the order of the values.
template <class T, class F>
T sum_of_packs(const T* v, std::size_t n, F f) {
    using P = Pack<T>;
    using L = Lanes<P>;
    constexpr std::size_t w = sizeof(P) / sizeof(T);
    P s0{}, s1{}, s2{}, s3{};
    std::size_t k = 0;
    for (; k + 4 * w <= n; k += 4 * w) {
        s0 += f(L::load(v + k));
        s1 += f(L::load(v + k + w));
        s2 += f(L::load(v + k + 2 * w));
        s3 += f(L::load(v + k + 3 * w));
    }
    T sum = T(0);
    for (; k < n; ++k) sum += f(v[k]);
    T lanes[w];
    L::store(lanes, (s0 + s1) + (s2 + s3));
    for (T lane : lanes) sum += lane;
    return sum;
}

namespace detail {
/// True when none of the n values is a NaN or an infinity. v * 0 is 0 for every finite v and
/// NaN for NaN or +-inf, so a sum of them is 0 exactly when all are finite. In packs, because
/// fit checks every training step's gradients with it: a scalar sum is several times slower.
template <class T>
bool all_finite(const T* v, std::size_t n) {
    return sum_of_packs(v, n, [](auto x) { return x * T(0); }) == T(0);
}
}  // namespace detail

}  // namespace layerwise
