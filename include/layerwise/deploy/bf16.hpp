// layerwise/deploy/bf16.hpp — bfloat16 weights, and y = x W + b for a few rows with W in bfloat16.
//
// A bfloat16 is the upper half of a float: its sign, its 8 exponent bits and 7 of its 23
// fraction bits. So it keeps float's range and about 3 significant digits, and widening one
// back to float is a 16-bit shift: exact, and one vector instruction per pack of weights.
//
//   to_bf16(v)   = the upper 16 bits of v rounded to nearest, ties to even (NaN stays NaN)
//   from_bf16(h) = the float whose upper half is h and whose lower half is 0
//   y_rj = sum_i x_ri W_ij + b_j    x, y, b in float; W widened from bfloat16 as it is read;
//                                   the sums in float, in the order i = 0, 1, ..., In - 1
//   W_ij at W[bf16_position(i, j)]        the kernel order: small_gemm.hpp's panel order, two
//                                         packs of columns interleaved in each panel's row
//
// Batch-1 inference reads every weight once for two flops, so its time is the time to read W:
// half the bytes, half the time. The kernel is small_gemm.hpp's, reading W through
// Bf16Weights, which widens the weights as it loads them: a block of columns of accumulators
// in registers (Pack, the target's vector register; on targets without one the loops are
// scalar). Widening a pack on its own takes a zero-extension and a shift; in the kernel order
// one load, one shift and one mask widen two packs, which keeps batch 1 nearer the time of
// its read. The compiler targets the build's CPU (-march), so the instructions are chosen when
// the program is built.
#pragma once

#include "../pack.hpp"
#include "../small_gemm.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace layerwise {

/// v rounded to the nearest bfloat16, ties to even; a NaN stays a (quiet) NaN.
inline std::uint16_t to_bf16(float v) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // NaN: keep it quiet
    const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // half an ulp of the result, ties to even
    return static_cast<std::uint16_t>((u + rounding) >> 16);
}

/// The float whose upper half is h: exact.
inline float from_bf16(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

/// Packs of columns whose bfloat16s are interleaved in the kernel order: a panel's
/// (small_gemm.hpp's panel_packs), 2 where there is a vector type, 1 where there is none.
inline constexpr std::size_t bf16_group = panel_packs;

/// Where W_ij of an (In x Out) W sits in the kernel order: small_gemm.hpp's panel order, and
/// in each row of a whole panel (two packs, 2w columns) the 32-bit word k holds column k in its
/// low half and column w + k in its high half. Then one load gives both packs: the words
/// shifted left by 16 are the first pack's floats, and the words with their low half cleared
/// are the second's. The narrower panel after the whole ones keeps the panel order.
template <std::size_t In, std::size_t Out>
constexpr std::size_t bf16_position(std::size_t i, std::size_t j) {
    constexpr std::size_t w = sizeof(Pack<float>) / sizeof(float);
    constexpr std::size_t span = bf16_group * w, spanned = Out / span * span;
    const std::size_t at = panel_position<In, Out, float>(i, j);
    if (bf16_group == 1 || j >= spanned) return at;
    const std::size_t k = j % span;
    return at - k + 2 * (k % w) + k / w;
}

namespace detail {

#if defined(LAYERWISE_X86_PACKS)
using PackBf16 = std::uint16_t __attribute__((vector_size(pack_bytes / 2)));  // as many bfloat16s as a Pack has floats
using PackU32 = std::uint32_t __attribute__((vector_size(pack_bytes)));       // the same, widened to 32 bits
#endif

// The Pack of floats widened from the bfloat16s at p (one load and one widening per pack).
template <class V>
V widen_bf16(const std::uint16_t* p) {
    if constexpr (std::is_same_v<V, float>) {
        return from_bf16(*p);
    } else {
#if defined(LAYERWISE_X86_PACKS)
        PackBf16 h;
        std::memcpy(&h, p, sizeof h);
        const PackU32 w = __builtin_convertvector(h, PackU32) << 16;
        V v;
        std::memcpy(&v, &w, sizeof v);
        return v;
#endif
    }
}

// W in bfloat16, in the kernel order (bf16_position), for small_gemm.hpp's kernel.
struct Bf16Weights {
    using stored = std::uint16_t;                     ///< W's elements: bfloat16 bits
    static constexpr std::size_t group = bf16_group;  ///< packs per load
    /// The two packs of floats of row i of the panel that starts at column j (one load, a shift
    /// and a mask); without a vector type, the one weight W_ij.
    template <std::size_t In, std::size_t Out, class V>
    static void load_group(const std::uint16_t* W, std::size_t i, std::size_t j, V* v) {
#if defined(LAYERWISE_X86_PACKS)
        PackU32 u;  // word k: column j + k in its low half, column j + w + k in its high half
        std::memcpy(&u, W + whole_panel_position<In, float>(i, j), sizeof u);
        const PackU32 first = u << 16, second = u & 0xffff0000u;
        std::memcpy(&v[0], &first, sizeof first);
        std::memcpy(&v[1], &second, sizeof second);
#else
        v[0] = load_one<In, Out, V>(W, i, j);
#endif
    }
    /// The pack of floats of row i at column j, in the narrower panel after the whole ones.
    template <std::size_t In, std::size_t Out, class V>
    static V load_one(const std::uint16_t* W, std::size_t i, std::size_t j) {
        return widen_bf16<V>(W + bf16_position<In, Out>(i, j));
    }
    /// W_ij, widened.
    template <std::size_t In, std::size_t Out>
    static float one(const std::uint16_t* W, std::size_t i, std::size_t j) {
        return from_bf16(W[bf16_position<In, Out>(i, j)]);
    }
};

}  // namespace detail

/// y = x W + b for `rows` rows of x, any number, with W (In x Out) in bfloat16 in the kernel
/// order (bf16_position): small_gemm.hpp's kernel, in passes of a few rows, each reading
/// W once. All row-major.
template <std::size_t In, std::size_t Out>
void bf16_rows_times(const float* x, std::size_t rows, const std::uint16_t* W, const float* b, float* y) {
    detail::rows_in_passes<In, Out, false, detail::Bf16Weights, float>(x, rows, W, nullptr, b, y);
}

}  // namespace layerwise
