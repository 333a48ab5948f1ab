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
//
// Batch-1 inference reads every weight once for two flops, so its time is the time to read W:
// half the bytes, half the time. The kernel is small_gemm.hpp's with the load widened: each
// weight read once for all rows, a block of columns of accumulators in registers (Pack, the
// target's vector register; on targets without one the loops are scalar). The compiler
// targets the build's CPU (-march), so the instructions are chosen when the program is built.
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

// Columns [j0, j0 + P w) of y for Rows rows (small_gemm.hpp's few_rows_block, W widened).
template <std::size_t Rows, std::size_t P, std::size_t In, std::size_t Out>
void bf16_rows_block(const float* __restrict x, const std::uint16_t* __restrict W, const float* __restrict b,
                     float* __restrict y, std::size_t j0) {
    using V = Pack<float>;
    using L = Lanes<V>;
    constexpr std::size_t w = sizeof(V) / sizeof(float);
    V acc[Rows][P];  // acc: (Rows x P packs) the running sums, in registers
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) acc[r][p] = V{};
    for (std::size_t i = 0; i < In; ++i) {  // acc_r += x_ri W_i, for the block's columns of row i of W
        V wi[P];
        for (std::size_t p = 0; p < P; ++p) wi[p] = widen_bf16<V>(W + i * Out + j0 + p * w);
        for (std::size_t r = 0; r < Rows; ++r) {
            const float xri = x[r * In + i];
            for (std::size_t p = 0; p < P; ++p) acc[r][p] += xri * wi[p];
        }
    }
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) {
            const std::size_t j = j0 + p * w;
            L::store(y + r * Out + j, acc[r][p] + L::load(b + j));
        }
}

template <std::size_t Rows, std::size_t In, std::size_t Out>
void bf16_rows(const float* x, const std::uint16_t* W, const float* b, float* y) {
    constexpr std::size_t w = sizeof(Pack<float>) / sizeof(float);
    constexpr std::size_t packs = Out / w;
    constexpr std::size_t P = std::max<std::size_t>(1, vector_registers / 2 / Rows);  // as small_gemm.hpp
    std::size_t p = 0;
    for (; p + P <= packs; p += P) bf16_rows_block<Rows, P, In, Out>(x, W, b, y, p * w);
    if constexpr (packs % P != 0) bf16_rows_block<Rows, packs % P, In, Out>(x, W, b, y, (packs - packs % P) * w);
    for (std::size_t j = packs * w; j < Out; ++j)  // the columns left over, one at a time
        for (std::size_t r = 0; r < Rows; ++r) {
            float sum = 0;
            for (std::size_t i = 0; i < In; ++i) sum += x[r * In + i] * from_bf16(W[i * Out + j]);
            y[r * Out + j] = sum + b[j];
        }
}

}  // namespace detail

/// y = x W + b for `rows` rows of x, any number, with W (In x Out) in bfloat16 (the top of this
/// file): blocks of up to few_rows_max rows, each reading W once. All row-major.
template <std::size_t In, std::size_t Out>
void bf16_rows_times(const float* x, std::size_t rows, const std::uint16_t* W, const float* b, float* y) {
    for (std::size_t r0 = 0; r0 < rows; r0 += few_rows_max) {
        const float* xr = x + r0 * In;
        float* yr = y + r0 * Out;
        switch (std::min(rows - r0, few_rows_max)) {
            case 1: detail::bf16_rows<1, In, Out>(xr, W, b, yr); break;
            case 2: detail::bf16_rows<2, In, Out>(xr, W, b, yr); break;
            case 3: detail::bf16_rows<3, In, Out>(xr, W, b, yr); break;
            default: detail::bf16_rows<4, In, Out>(xr, W, b, yr); break;
        }
    }
}

}  // namespace layerwise
