// layerwise/deploy/bf16_dot.hpp — y = x W + b with x and W both rounded to bfloat16 and the
// sums in float: AVX512-BF16's dot product where the CPU has it, the same bits from portable
// code everywhere else, chosen at run time.
//
//   y_rj = b_j + sum_i x~_ri W~_ij    x~, W~: x and W rounded to bfloat16 (to nearest, ties to
//                                     even; a subnormal to a zero of its sign)
//                                     each product exact in float (8 x 8 significant bits), each
//                                     sum rounded to float, in the order i = 1, 0, 3, 2, 5, 4, ...
//
// Why round x too. bf16.hpp keeps x in float and widens W as it reads it. AVX512-BF16's one
// arithmetic instruction, VDPBF16PS, multiplies bfloat16 by bfloat16: a float x would have to
// be split into three bfloat16s (hi + mid + lo), three instructions where bf16.hpp's kernel
// needs two FMAs, and it measured slower (the commit that added this file has the numbers).
// With x rounded, one instruction does two multiply-adds per float lane, and no instruction
// widens W (benchmarks/RESULTS.md, the small-batch table, has both kernels beside to_bf16).
// The price is x's rounding, at most 2^-9 relative per input, beside W's own.
//
// What the instruction computes, per float lane k of a 256-bit register (Intel's manual; the
// same bits on AMD's Zen 4 over 2,000,000 random cases):
//   acc_k = fma(odd bfloat16 of w_k, odd of x_k, acc_k); then acc_k = fma(even of w_k, even of x_k, acc_k)
// A pair of bfloat16s in a 32-bit word, little-endian, holds rows 2q (even, low half) and
// 2q + 1 (odd, high half), so each pair is summed odd first: the order above. The portable
// kernel does those two steps as a multiply and an add: a product of two bfloat16s is exact in
// float, so fused or not, the bits are the same. The instruction also flushes a product or a
// partial sum below float's smallest normal (1.2e-38) to zero where the portable code keeps it:
// only there can the two differ. Inputs are flushed alike on both paths, when x and W are
// rounded.
//
//   W_ij at W[bf16_dot_position<In, Out>(i, j)]   panels of 8 columns (the 8 float lanes of a
//       256-bit register), each stored row pair after row pair: word (q, c) of a panel holds
//       W_(2q)j in its low half and W_(2q+1)j in its high half. Padding (a last row pair's
//       high half when In is odd, the columns past Out in the last panel) is zero.
#pragma once

#include "../small_gemm.hpp"
#include "bf16.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace layerwise {

static_assert(std::endian::native == std::endian::little,
              "layerwise: bf16_dot.hpp pairs bfloat16s in 32-bit words little-endian");

/// Columns in a panel of the bf16-dot order: 8 float sums, one 256-bit register.
inline constexpr std::size_t bf16_dot_panel = 8;
/// Row pairs of an In-row W (the last one half padding when In is odd).
template <std::size_t In>
inline constexpr std::size_t bf16_dot_pairs = (In + 1) / 2;
/// bfloat16s that an (In x Out) W takes in the bf16-dot order, padding included.
template <std::size_t In, std::size_t Out>
inline constexpr std::size_t bf16_dot_size = (Out + bf16_dot_panel - 1) / bf16_dot_panel * bf16_dot_panel * 2 * bf16_dot_pairs<In>;
/// 32-bit words of scratch that bf16_dot_rows_times needs for an In-wide x: a pass of
/// few_rows_max rows of x, rounded.
template <std::size_t In>
inline constexpr std::size_t bf16_dot_scratch = few_rows_max * 2 * bf16_dot_pairs<In>;

/// Where W_ij of an (In x Out) W sits in the bf16-dot order (the top of this file).
template <std::size_t In, std::size_t Out>
constexpr std::size_t bf16_dot_position(std::size_t i, std::size_t j) {
    return ((j / bf16_dot_panel * bf16_dot_pairs<In> + i / 2) * bf16_dot_panel + j % bf16_dot_panel) * 2 + i % 2;
}

/// The float bits u rounded to bfloat16, in the upper half (the lower half zero): to nearest,
/// ties to even; a NaN stays a quiet NaN; a subnormal becomes a zero of its sign, as
/// AVX512-BF16 reads it. Without branches, so that a loop of it vectorises.
constexpr std::uint32_t bf16_dot_bits(std::uint32_t u) {
    const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    const std::uint32_t quiet = (u | 0x00400000u) & 0xffff0000u;
    const std::uint32_t r = (u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded;
    return (r & 0x7f800000u) == 0 ? r & 0x80000000u : r;
}

/// v rounded to bfloat16 as the bf16-dot product reads it (bf16_dot_bits).
inline std::uint16_t to_bf16_flushed(float v) {
    return static_cast<std::uint16_t>(bf16_dot_bits(std::bit_cast<std::uint32_t>(v)) >> 16);
}

/// The two kernels of the bf16-dot product, with the same bits (the top of this file).
enum class Bf16DotKernel {
    portable,    ///< multiplies and adds of widened bfloat16s, on any target
    avx512bf16,  ///< VDPBF16PS, on x86-64 CPUs with AVX512-BF16 and AVX-512VL
};

/// The kernel's name, as benchmarks print it.
constexpr std::string_view name_of(Bf16DotKernel k) { return k == Bf16DotKernel::portable ? "portable" : "avx512bf16"; }

/// Whether this CPU runs the avx512bf16 kernel: x86-64 with AVX512-BF16 and AVX-512VL.
inline bool cpu_has_avx512bf16() {
#if defined(LAYERWISE_X86_PACKS) && defined(__x86_64__)
    static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
    return has;
#else
    return false;
#endif
}

namespace detail {
/// The kernel for LAYERWISE_BF16_DOT's value `forced` (null or empty: unset) on a CPU that has
/// AVX512-BF16 or not (bf16_dot_kernel). Any value but "portable" is a mistake, and refused.
inline Bf16DotKernel bf16_dot_kernel_for(const char* forced, bool has_avx512bf16) {
    if (forced != nullptr && *forced != '\0') {
        if (std::string_view(forced) != "portable")
            throw std::invalid_argument(std::string("layerwise: LAYERWISE_BF16_DOT=") + forced +
                                        ": the one value it takes is portable (unset: AVX512-BF16 where the CPU has it)");
        return Bf16DotKernel::portable;
    }
    return has_avx512bf16 ? Bf16DotKernel::avx512bf16 : Bf16DotKernel::portable;
}
}  // namespace detail

/// The kernel that bf16_dot_rows_times runs: avx512bf16 where the CPU has it, unless the
/// environment variable LAYERWISE_BF16_DOT is "portable" (to compare the two, or to run the
/// code every CPU runs); portable otherwise. Read once; any other value of the variable
/// throws std::invalid_argument, naming it.
inline Bf16DotKernel bf16_dot_kernel() {
    static const Bf16DotKernel chosen = detail::bf16_dot_kernel_for(std::getenv("LAYERWISE_BF16_DOT"), cpu_has_avx512bf16());
    return chosen;
}

namespace detail {

using Bf16DotSums = float __attribute__((vector_size(32)));          // a panel's 8 float sums
using Bf16DotWords = std::uint32_t __attribute__((vector_size(32)));  // a panel's row pair: 8 words

// Panels per block for Rows rows, of `panels` in all: the most whose Rows sums and `weights`
// rows of W fit in `registers` vector registers beside a broadcast, a panel taking `width`
// registers (1 where a register is 256 bits), rounded down to a divisor of `panels` (every
// block full).
constexpr std::size_t bf16_dot_block(std::size_t rows, std::size_t panels, std::size_t registers, std::size_t width,
                                     std::size_t weights) {
    const std::size_t fit = std::clamp<std::size_t>((registers - 1) / (width * (rows + weights)), 1, panels);
    for (std::size_t d = fit; d > 1; --d)
        if (panels % d == 0) return d;
    return 1;
}

// y = acc + b for the block's panels, the columns before Out.
template <std::size_t Rows, std::size_t P, std::size_t Out>
inline void bf16_dot_store(const Bf16DotSums (&acc)[Rows][P], const float* b, float* y, std::size_t panel0) {
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) {
            const std::size_t j0 = (panel0 + p) * bf16_dot_panel;
            for (std::size_t k = 0; k < bf16_dot_panel && j0 + k < Out; ++k) y[r * Out + j0 + k] = acc[r][p][k] + b[j0 + k];
        }
}

// The portable kernel for the block of P panels from panel0, Rows rows. xb: (Rows x 2 pairs)
// the float bits of x rounded (bf16_dot_bits), so each x~_ri is one broadcast.
template <std::size_t Rows, std::size_t P, std::size_t In, std::size_t Out>
void bf16_dot_block_portable(const std::uint32_t* __restrict xb, const std::uint16_t* __restrict W, const float* __restrict b,
                             float* __restrict y, std::size_t panel0) {
    constexpr std::size_t Q = bf16_dot_pairs<In>;
    Bf16DotSums acc[Rows][P] = {};  // acc: (Rows x P panels) the running sums
    for (std::size_t q = 0; q < Q; ++q) {
        Bf16DotSums odd[P], even[P];  // rows 2q + 1 and 2q of W, the block's columns, widened
        for (std::size_t p = 0; p < P; ++p) {
            Bf16DotWords u;
            std::memcpy(&u, W + ((panel0 + p) * Q + q) * 2 * bf16_dot_panel, sizeof u);
            const Bf16DotWords hi = u & 0xffff0000u, lo = u << 16;
            std::memcpy(&odd[p], &hi, sizeof hi);
            std::memcpy(&even[p], &lo, sizeof lo);
        }
        for (std::size_t r = 0; r < Rows; ++r) {
            const float x_odd = std::bit_cast<float>(xb[r * 2 * Q + 2 * q + 1]), x_even = std::bit_cast<float>(xb[r * 2 * Q + 2 * q]);
            for (std::size_t p = 0; p < P; ++p) {
                acc[r][p] += x_odd * odd[p];  // exact products: fused or not, the instruction's bits
                acc[r][p] += x_even * even[p];
            }
        }
    }
    bf16_dot_store<Rows, P, Out>(acc, b, y, panel0);
}

#if defined(LAYERWISE_X86_PACKS) && defined(__x86_64__)
// The avx512bf16 kernel for the block of P panels from panel0, Rows rows: one VDPBF16PS per
// panel, row of x and row pair of W. xw: (Rows x pairs) x rounded, a pair per word.
template <std::size_t Rows, std::size_t P, std::size_t In, std::size_t Out>
__attribute__((target("avx2,fma,avx512f,avx512vl,avx512bf16"))) void bf16_dot_block_avx512(
    const std::uint32_t* __restrict xw, const std::uint16_t* __restrict W, const float* __restrict b, float* __restrict y,
    std::size_t panel0) {
    constexpr std::size_t Q = bf16_dot_pairs<In>;
#if defined(__clang__)
    using Pairs = int __attribute__((vector_size(32)));  // the builtin's operand types (clang's, GCC's)
#else
    using Pairs = short __attribute__((vector_size(32)));
#endif
    Bf16DotSums acc[Rows][P] = {};  // acc: (Rows x P panels) the running sums
    for (std::size_t q = 0; q < Q; ++q) {
        Pairs w[P];  // row pair q of W, the block's columns
        for (std::size_t p = 0; p < P; ++p) std::memcpy(&w[p], W + ((panel0 + p) * Q + q) * 2 * bf16_dot_panel, sizeof w[p]);
        for (std::size_t r = 0; r < Rows; ++r) {
            const Bf16DotWords xv = Bf16DotWords{} + xw[r * Q + q];  // the pair x~_r(2q), x~_r(2q+1), broadcast
            Pairs x;
            std::memcpy(&x, &xv, sizeof x);
            for (std::size_t p = 0; p < P; ++p) {
#if defined(__clang__)
                acc[r][p] = __builtin_ia32_dpbf16ps_256(acc[r][p], w[p], x);
#else
                acc[r][p] = __builtin_ia32_dpbf16ps_v8sf(acc[r][p], w[p], x);
#endif
            }
        }
    }
    bf16_dot_store<Rows, P, Out>(acc, b, y, panel0);
}
#endif

// y = x~ W~ + b for exactly Rows rows with the kernel k. scratch: bf16_dot_scratch<In> words.
template <std::size_t Rows, std::size_t In, std::size_t Out>
void bf16_dot_rows(const float* x, const std::uint16_t* W, const float* b, float* y, std::uint32_t* scratch,
                   Bf16DotKernel k) {
    constexpr std::size_t Q = bf16_dot_pairs<In>, panels = (Out + bf16_dot_panel - 1) / bf16_dot_panel;
    for (std::size_t r = 0; r < Rows; ++r) {  // x rounded, once for every panel: row r at 2 Q r
        std::uint32_t* xr = scratch + r * 2 * Q;
        for (std::size_t i = 0; i < In; ++i) xr[i] = bf16_dot_bits(std::bit_cast<std::uint32_t>(x[r * In + i]));
        if constexpr (In % 2 != 0) xr[In] = 0;
    }
#if defined(LAYERWISE_X86_PACKS) && defined(__x86_64__)
    if (k == Bf16DotKernel::avx512bf16) {
        for (std::size_t r = 0; r < Rows; ++r)  // each pair into one word (row r at Q r), in place: q <= 2q
            for (std::size_t q = 0; q < Q; ++q)
                scratch[r * Q + q] = (scratch[r * 2 * Q + 2 * q] >> 16) | (scratch[r * 2 * Q + 2 * q + 1] & 0xffff0000u);
        constexpr std::size_t P = bf16_dot_block(Rows, panels, 32, 1, 1);  // AVX-512's 32 registers
        for (std::size_t p = 0; p + P <= panels; p += P) bf16_dot_block_avx512<Rows, P, In, Out>(scratch, W, b, y, p);
        return;
    }
#else
    (void)k;
#endif
    constexpr std::size_t P = bf16_dot_block(Rows, panels, vector_registers, sizeof(Bf16DotSums) / sizeof(Pack<float>), 2);
    for (std::size_t p = 0; p + P <= panels; p += P) bf16_dot_block_portable<Rows, P, In, Out>(scratch, W, b, y, p);
}

}  // namespace detail

/// y = x~ W~ + b (the top of this file) for any number of rows of x, in passes of up to
/// few_rows_max rows, each reading W once, with the kernel k (default: bf16_dot_kernel()).
/// x: (rows x In), y: (rows x Out), row-major; W: bf16_dot_size<In, Out> bfloat16s in the
/// bf16-dot order; scratch: bf16_dot_scratch<In> words that the call overwrites.
template <std::size_t In, std::size_t Out>
void bf16_dot_rows_times(const float* x, std::size_t rows, const std::uint16_t* W, const float* b, float* y,
                         std::uint32_t* scratch, Bf16DotKernel k = bf16_dot_kernel()) {
    if (k == Bf16DotKernel::avx512bf16 && !cpu_has_avx512bf16())
        throw std::invalid_argument("layerwise: bf16_dot_rows_times: this CPU has no AVX512-BF16; use the portable kernel");
    for (std::size_t r0 = 0; r0 < rows; r0 += few_rows_max) {
        const std::size_t n = std::min(rows - r0, few_rows_max);
        [&]<std::size_t... K>(std::index_sequence<K...>) {  // the instantiation for n rows
            (void)((n == K + 1 ? (detail::bf16_dot_rows<K + 1, In, Out>(x + r0 * In, W, b, y + r0 * Out, scratch, k), true)
                               : false) ||
                   ...);
        }(std::make_index_sequence<few_rows_max>{});
    }
}

namespace detail {
// W in bfloat16 in the bf16-dot order, with x rounded too: the policy of Bf16DotDense
// (inference_dense.hpp).
struct Bf16DotWeights {
    using stored = std::uint16_t;  ///< W's elements: bfloat16 bits
};
}  // namespace detail

}  // namespace layerwise
