// layerwise/small_gemm.hpp — y = x W for a batch of 1 to 8 rows, in registers.
//
//   y_rj = (sum_i x_ri W_ij) s_j + c_j     x: (rows x In), W: (In x Out), y: (rows x Out), rows <= 8
//                                          s, c: (Out), a scale and a shift per column: s = 1 and
//                                          c = b for a Dense
//
// Why not BLAS: for a few rows, OpenBLAS's sgemm spends most of the call in overhead of its
// own (packing W, for one). A row times a matrix does two flops per weight it loads, so one
// row's time is the time to read W, and a few rows' is their flops. This kernel keeps the sums
// in registers: a block of columns at a time, with Rows x P packs (pack.hpp) of accumulators,
// down all In rows of W. Each pack of W is loaded once into a register and used for every row
// of the pass (keep_in_register), so a pass reads W once.
//
// Register budget (the target's vector_registers R): Rows x P accumulators, P packs of W and
// one broadcast x_ri, so Rows x P + P + 1 <= R. The FMA's latency needs about 8 independent
// sums to keep both FMA units busy, so P is the largest that fits. Where that would leave a last
// block less than half as wide as the others (a narrow, slow block), P is rounded down to a
// divisor of the column packs where one is near, so that every block is full. A pass takes up to
// pass_rows rows (6 with R = 16: 12 accumulators in 2 packs), and a larger batch takes two
// passes; the second finds W in cache.
//
// Each y_rj is one sum in the order i = 0, 1, ..., In - 1, whatever the row count. Whether the
// compiler fuses a multiply and its add into one FMA (-ffp-contract) may differ between the
// row counts' instantiations, and a Dense sends a batch of more than few_rows_max rows to BLAS,
// whose order differs: a row's result agrees with any other batch's to float rounding, not to
// the bit. The same batch gives the same bits every time.
//
// The weights are read through a policy, so one kernel serves W as a Dense keeps it (row-major,
// PlainWeights), in the panel order below (PanelWeights) and in bfloat16 (deploy/bf16.hpp). A
// policy loads `group` packs of W at once: 1 row-major; panel_packs (a whole panel's row) in
// the panel order. Blocks then start and end on whole groups, and the packs after the last
// whole group load one at a time.
//
// The panel order (panel_position) is for weights kept for inference only. A block walks down
// its columns of W; row-major, that is a short run of bytes every Out columns, a stride the
// hardware prefetchers follow poorly from L3, so reading W takes longer than its bytes need.
// Where a block is narrower than W's rows, the row-major policy therefore asks for the row
// prefetch_rows ahead of the one it reads (a prefetch changes no result, only when W arrives).
// In the panel order W is cut into panels of panel_packs packs of columns, each stored whole,
// row after row (with AVX2 a panel's row is 16 floats, one 64-byte cache line), so a block
// reads each of its panels front to back. The sums are those of the row-major kernel, in the
// same order: where W is whole panels, the same instructions and the same bits; the columns
// after them are summed one at a time, where the compiler may fuse differently.
#pragma once

#include "pack.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace layerwise {

/// The largest batch few_rows_times takes: Dense uses it up to here, and BLAS above.
inline constexpr std::size_t few_rows_max = 8;

/// Packs of columns in a panel of the panel order (the top of this file): 2 where there is a
/// vector type, 1 (W stored column by column) where there is none.
#if defined(LAYERWISE_X86_PACKS)
inline constexpr std::size_t panel_packs = 2;
#else
inline constexpr std::size_t panel_packs = 1;
#endif

/// Where W_ij of an (In x Out) W of T sits in the panel order (the top of this file): panel
/// after panel of panel_packs packs of columns, each row after row; the columns after the last
/// whole panel are one narrower panel, stored the same way.
template <std::size_t In, std::size_t Out, class T = float>
constexpr std::size_t panel_position(std::size_t i, std::size_t j) {
    constexpr std::size_t columns = panel_packs * (sizeof(Pack<T>) / sizeof(T));  // a panel's width
    const std::size_t start = j / columns * columns, width = std::min(columns, Out - start);
    return start * In + i * width + (j - start);
}

/// The target's vector registers, which the kernel's blocks are sized by: 32 with AVX-512's
/// EVEX encoding, 16 otherwise.
#if defined(__AVX512VL__)
inline constexpr std::size_t vector_registers = 32;
#else
inline constexpr std::size_t vector_registers = 16;
#endif

namespace detail {

/// panel_position(i, j) where j is the first column of a whole panel (T's packs wide): the
/// kernel's grouped loads, without the narrower panel's case.
template <std::size_t In, class T>
constexpr std::size_t whole_panel_position(std::size_t i, std::size_t j) {
    return j * In + i * panel_packs * (sizeof(Pack<T>) / sizeof(T));
}

/// Rows per pass: the most rows whose accumulators for 2 packs of columns fit beside those
/// 2 packs of W and a broadcast (the top of this file), at most few_rows_max.
inline constexpr std::size_t pass_rows = std::min(few_rows_max, (vector_registers - 3) / 2);

/// Packs of columns per block for Rows rows, of `packs` in all, a multiple of `group` (the top
/// of this file).
constexpr std::size_t block_packs(std::size_t rows, std::size_t packs, std::size_t group) {
    const std::size_t weight_registers = rows > 1 ? 1 : 0;  // one row uses each pack once: no register for it
    const std::size_t groups = std::max<std::size_t>(packs / group, 1);
    const std::size_t fit = std::clamp<std::size_t>((vector_registers - 1) / (rows + weight_registers) / group, 1, groups);
    const std::size_t last = groups % fit;  // the last block's groups, 0 where it is full
    if (last == 0 || 2 * last >= fit) return fit * group;
    for (std::size_t d = fit; 2 * d > fit; --d)
        if (groups % d == 0) return d * group;  // a divisor near the fit: every block full
    return fit * group;
}

/// How far ahead a block that reads a strided W asks for its rows (the top of this file): far
/// enough that a row arrives from L3 before its FMAs, near enough that it is still in L1 then.
inline constexpr std::size_t prefetch_rows = 4;

/// W row-major, as a Dense keeps it: one load per pack.
template <class T>
struct PlainWeights {
    using stored = T;                        ///< the type of W's elements
    static constexpr std::size_t group = 1;  ///< packs per load
    /// Asks for row i of W in columns [j, j + n), one request per 64-byte cache line: a block
    /// narrower than W reads a run of each row every Out columns (the top of this file).
    template <std::size_t In, std::size_t Out>
    static void prefetch(const T* W, std::size_t i, std::size_t j, std::size_t n) {
        for (std::size_t q = 0; q < n; q += 64 / sizeof(T)) __builtin_prefetch(W + i * Out + j + q);
    }
    /// Packs v[0] .. v[group - 1] of row i of W, from column j (a multiple of group packs).
    template <std::size_t In, std::size_t Out, class V>
    static void load_group(const T* W, std::size_t i, std::size_t j, V* v) {
        v[0] = load_one<In, Out, V>(W, i, j);
    }
    /// The pack of row i of W at column j, outside the whole groups.
    template <std::size_t In, std::size_t Out, class V>
    static V load_one(const T* W, std::size_t i, std::size_t j) {
        return Lanes<V>::load(W + i * Out + j);
    }
    /// W_ij.
    template <std::size_t In, std::size_t Out>
    static T one(const T* W, std::size_t i, std::size_t j) {
        return W[i * Out + j];
    }
};

/// W in the panel order (panel_position): a group is a panel's row, one run of bytes.
template <class T>
struct PanelWeights {
    using stored = T;                                  ///< the type of W's elements
    static constexpr std::size_t group = panel_packs;  ///< packs per load
    /// The packs of row i of the panel that starts at column j.
    template <std::size_t In, std::size_t Out, class V>
    static void load_group(const T* W, std::size_t i, std::size_t j, V* v) {
        constexpr std::size_t w = sizeof(V) / sizeof(T);
        const T* row = W + whole_panel_position<In, T>(i, j);
        for (std::size_t p = 0; p < group; ++p) v[p] = Lanes<V>::load(row + p * w);
    }
    /// The pack of row i at column j, in the narrower panel after the whole ones.
    template <std::size_t In, std::size_t Out, class V>
    static V load_one(const T* W, std::size_t i, std::size_t j) {
        return Lanes<V>::load(W + panel_position<In, Out, T>(i, j));
    }
    /// W_ij.
    template <std::size_t In, std::size_t Out>
    static T one(const T* W, std::size_t i, std::size_t j) {
        return W[panel_position<In, Out, T>(i, j)];
    }
};

// Columns [j0, j0 + P w) of y for Rows rows, w the pack width: y = (x W) s + c (s = 1 unless
// Scaled). Grouped: the block is whole groups of packs (Weights::load_group); else single packs.
template <std::size_t Rows, std::size_t P, std::size_t In, std::size_t Out, bool Scaled, bool Grouped, class Weights,
          class T>
void few_rows_block(const T* __restrict x, const typename Weights::stored* __restrict W, const T* __restrict s,
                    const T* __restrict c, T* __restrict y, std::size_t j0) {
    using V = Pack<T>;
    using L = Lanes<V>;
    constexpr std::size_t w = sizeof(V) / sizeof(T);
    V acc[Rows][P];  // acc: (Rows x P packs) the running sums, in registers
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) acc[r][p] = V{};
    for (std::size_t i = 0; i < In; ++i) {  // acc_r += x_ri W_i, for the block's columns of row i of W
        if constexpr (requires { Weights::template prefetch<In, Out>(W, i, j0, P * w); })
            if (P * w < Out && i + prefetch_rows < In) Weights::template prefetch<In, Out>(W, i + prefetch_rows, j0, P * w);
        V wi[P];  // wi: (P packs) row i of W in the block's columns
        if constexpr (Grouped)
            for (std::size_t p = 0; p < P; p += Weights::group)
                Weights::template load_group<In, Out, V>(W, i, j0 + p * w, wi + p);
        else
            for (std::size_t p = 0; p < P; ++p) wi[p] = Weights::template load_one<In, Out, V>(W, i, j0 + p * w);
        if constexpr (Rows > 1)
            for (std::size_t p = 0; p < P; ++p) keep_in_register(wi[p]);
        for (std::size_t r = 0; r < Rows; ++r) {
            const T xri = x[r * In + i];
            for (std::size_t p = 0; p < P; ++p) acc[r][p] += xri * wi[p];
        }
    }
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) {
            const std::size_t j = j0 + p * w;
            V out = acc[r][p];
            if constexpr (Scaled) out *= L::load(s + j);
            L::store(y + r * Out + j, out + L::load(c + j));
        }
}

// y = (x W) s + c for exactly Rows rows: the blocks of whole packs, then the columns left over.
template <std::size_t Rows, std::size_t In, std::size_t Out, bool Scaled, class Weights, class T>
void few_rows(const T* x, const typename Weights::stored* W, const T* s, const T* c, T* y) {
    constexpr std::size_t w = sizeof(Pack<T>) / sizeof(T);
    constexpr std::size_t packs = Out / w;                                  // whole packs of columns
    constexpr std::size_t grouped = packs / Weights::group * Weights::group;  // of them, those in whole groups
    if constexpr (grouped > 0) {
        constexpr std::size_t P = block_packs(Rows, grouped, Weights::group);
        std::size_t p = 0;
        for (; p + P <= grouped; p += P) few_rows_block<Rows, P, In, Out, Scaled, true, Weights>(x, W, s, c, y, p * w);
        if constexpr (grouped % P != 0)
            few_rows_block<Rows, grouped % P, In, Out, Scaled, true, Weights>(x, W, s, c, y, (grouped - grouped % P) * w);
    }
    if constexpr (packs > grouped)
        few_rows_block<Rows, packs - grouped, In, Out, Scaled, false, Weights>(x, W, s, c, y, grouped * w);
    for (std::size_t j = packs * w; j < Out; ++j)  // the columns left over, one at a time
        for (std::size_t r = 0; r < Rows; ++r) {
            T sum = T(0);
            for (std::size_t i = 0; i < In; ++i) sum += x[r * In + i] * Weights::template one<In, Out>(W, i, j);
            y[r * Out + j] = (Scaled ? sum * s[j] : sum) + c[j];
        }
}

// y = (x W) s + c for any number of rows, in passes of up to pass_rows rows.
template <std::size_t In, std::size_t Out, bool Scaled, class Weights, class T>
void rows_in_passes(const T* x, std::size_t rows, const typename Weights::stored* W, const T* s, const T* c, T* y) {
    for (std::size_t r0 = 0; r0 < rows; r0 += pass_rows) {
        const std::size_t n = std::min(rows - r0, pass_rows);
        [&]<std::size_t... K>(std::index_sequence<K...>) {  // the instantiation for n rows
            (void)((n == K + 1 ? (few_rows<K + 1, In, Out, Scaled, Weights>(x + r0 * In, W, s, c, y + r0 * Out), true)
                               : false) ||
                   ...);
        }(std::make_index_sequence<pass_rows>{});
    }
}

}  // namespace detail

/// y = (x W) s + c for rows = 1 .. few_rows_max rows of x (see the top of this file), with s
/// null for a scale of 1. x: (rows x In), W: (In x Out), y: (rows x Out), all row-major.
template <std::size_t In, std::size_t Out, class T>
void few_rows_times(const T* x, std::size_t rows, const std::type_identity_t<T>* W, const std::type_identity_t<T>* s,
                    const std::type_identity_t<T>* c, std::type_identity_t<T>* y) {
    if (rows < 1 || rows > few_rows_max)
        throw std::logic_error("layerwise: few_rows_times: takes 1 to " + std::to_string(few_rows_max) + " rows");
    if (s != nullptr) detail::rows_in_passes<In, Out, true, detail::PlainWeights<T>>(x, rows, W, s, c, y);
    else detail::rows_in_passes<In, Out, false, detail::PlainWeights<T>>(x, rows, W, s, c, y);
}

/// y = x W + c for any number of rows of x, in passes of a few rows, each reading W once, with
/// W (In x Out) in the panel order (panel_position): few_rows_times' sums, in its order (the
/// top of this file). x: (rows x In), y: (rows x Out), row-major.
template <std::size_t In, std::size_t Out, class T>
void panel_rows_times(const T* x, std::size_t rows, const std::type_identity_t<T>* W, const std::type_identity_t<T>* c,
                      std::type_identity_t<T>* y) {
    detail::rows_in_passes<In, Out, false, detail::PanelWeights<T>, T>(x, rows, W, nullptr, c, y);
}

}  // namespace layerwise
