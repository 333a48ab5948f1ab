// layerwise/optim/elementwise.hpp — an optimizer's update, one vector register at a time.
//
// An update such as RMSprop's  a = rho a + (1 - rho) g^2,  p -= lr g / sqrt(a + eps)  is a
// loop over every parameter, and its square root is what keeps a compiler from vectorising
// it: std::sqrt may set errno, so GCC and Clang call the library for it one element at a
// time unless the code that includes layerwise is compiled with -fno-math-errno. layerwise
// forces no flags on its users, so the update is written once, generically, and run on
// xsimd batches (xsimd comes with xtensor; its sqrt is the instruction) with a scalar tail:
//
//   for_each_pack<T>(n, [&](std::size_t k, auto lanes) {
//       using L = decltype(lanes);                 // Lanes<xsimd::batch<T>> or Lanes<T>
//       auto a = L::load(as + k);  ...  L::store(as + k, a);
//   });
//
// Every operation is an IEEE element-wise one, so a lane computes what the scalar loop did.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstddef>

namespace layerwise {

/// Loads and stores of V (a scalar T, or an xsimd::batch<T>) from unaligned memory.
template <class V>
struct Lanes {
    template <class T>
    static V load(const T* p) {
        if constexpr (std::is_arithmetic_v<V>) return *p;
        else return V::load_unaligned(p);
    }
    template <class T>
    static void store(T* p, const V& v) {
        if constexpr (std::is_arithmetic_v<V>) *p = v;
        else v.store_unaligned(p);
    }
};

// GCC 12 warns, wrongly, that _mm512_sqrt_pd reads an uninitialised value: its own
// avx512fintrin.h fills the unused merge operand with _mm512_undefined_pd(), which is
// `__m512d __Y = __Y;` (GCC bug 105593, fixed in GCC 13). Silenced here, where layerwise calls
// it, so that a user's -Wall -Werror build on an AVX-512 machine does not fail on it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/// sqrt of a scalar or of every lane of a batch.
template <class V>
V lane_sqrt(const V& x) {
    if constexpr (std::is_arithmetic_v<V>) return std::sqrt(x);
    else return xsimd::sqrt(x);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// Calls f(k, Lanes<batch>{}) for k = 0, W, 2W, ... while a whole batch of W lanes fits in n,
/// then f(k, Lanes<T>{}) for each remaining k.
template <class T, class F>
void for_each_pack(std::size_t n, F&& f) {
    using batch = xsimd::batch<T>;
    std::size_t k = 0;
    for (; k + batch::size <= n; k += batch::size) f(k, Lanes<batch>{});
    for (; k < n; ++k) f(k, Lanes<T>{});
}

}  // namespace layerwise
