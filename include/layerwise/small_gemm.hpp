// layerwise/small_gemm.hpp — y = x W for a batch of 1 to 4 rows, each weight read once.
//
//   y_rj = (sum_i x_ri W_ij) s_j + c_j     x: (rows x In), W: (In x Out), y: (rows x Out), rows <= 4
//                                          s, c: (Out), a scale and a shift per column: s = 1 and
//                                          c = b for a Dense; a folded BatchNorm's for Dense+BatchNorm
//
// Why not BLAS: for one row, OpenBLAS's sgemm small-matrix kernel spends most of a batch-1
// inference in overhead of its own. A row times a matrix does two flops
// per weight it loads, so its time is the time to read W. This kernel reads each weight
// once for all the rows and keeps the sums in registers: a block of columns at a time, with
// Rows x P packs (pack.hpp) of accumulators, down all In rows of W.
//
// Each y_rj is one sum in the order i = 0, 1, ..., In - 1, whatever the row count. Whether the
// compiler fuses a multiply and its add into one FMA (-ffp-contract) may differ between the
// row counts' instantiations, and a batch of more than 4 rows goes to BLAS, whose order
// differs: a row's result agrees with any other batch's to float rounding, not to the bit.
// The same batch gives the same bits every time.
#pragma once

#include "pack.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <type_traits>

namespace layerwise {

/// The largest batch few_rows_times takes: Dense uses it up to here, and BLAS above.
inline constexpr std::size_t few_rows_max = 4;

/// The target's vector registers, which few_rows_times' blocks are sized by: 32 with AVX-512's
/// EVEX encoding, 16 otherwise.
#if defined(__AVX512VL__)
inline constexpr std::size_t vector_registers = 32;
#else
inline constexpr std::size_t vector_registers = 16;
#endif

namespace detail {

// Columns [j0, j0 + P w) of y for Rows rows, w the pack width: y = (x W) s + c (s = 1 unless Scaled).
template <std::size_t Rows, std::size_t P, std::size_t In, std::size_t Out, bool Scaled, class T>
void few_rows_block(const T* __restrict x, const T* __restrict W, const T* __restrict s, const T* __restrict c,
                    T* __restrict y, std::size_t j0) {
    using V = Pack<T>;
    using L = Lanes<V>;
    constexpr std::size_t w = sizeof(V) / sizeof(T);
    V acc[Rows][P];  // acc: (Rows x P packs) the running sums, in registers
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t p = 0; p < P; ++p) acc[r][p] = V{};
    for (std::size_t i = 0; i < In; ++i) {  // acc_r += x_ri W_i, for the block's columns of row i of W
        V wi[P];
        for (std::size_t p = 0; p < P; ++p) wi[p] = L::load(W + i * Out + j0 + p * w);
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

template <std::size_t Rows, std::size_t In, std::size_t Out, bool Scaled, class T>
void few_rows(const T* x, const T* W, const T* s, const T* c, T* y) {
    constexpr std::size_t w = sizeof(Pack<T>) / sizeof(T);
    constexpr std::size_t packs = Out / w;                       // whole packs of columns
    // Packs per block: Rows x P accumulators in half the vector registers (32 with AVX-512's
    // EVEX encoding, 16 otherwise), the other half for W's packs and x. A whole row of W per i
    // where it fits (Out = 128: one block) streams best.
    constexpr std::size_t half_registers = vector_registers / 2;
    constexpr std::size_t P = std::max<std::size_t>(1, half_registers / Rows);
    std::size_t p = 0;
    for (; p + P <= packs; p += P) few_rows_block<Rows, P, In, Out, Scaled>(x, W, s, c, y, p * w);
    if constexpr (packs % P != 0) few_rows_block<Rows, packs % P, In, Out, Scaled>(x, W, s, c, y, (packs - packs % P) * w);
    for (std::size_t j = packs * w; j < Out; ++j)  // the columns left over, one at a time
        for (std::size_t r = 0; r < Rows; ++r) {
            T sum = T(0);
            for (std::size_t i = 0; i < In; ++i) sum += x[r * In + i] * W[i * Out + j];
            y[r * Out + j] = (Scaled ? sum * s[j] : sum) + c[j];
        }
}

}  // namespace detail

/// y = (x W) s + c for rows = 1 .. few_rows_max rows of x (see the top of this file), with s
/// null for a scale of 1. x: (rows x In), W: (In x Out), y: (rows x Out), all row-major.
template <std::size_t In, std::size_t Out, class T>
void few_rows_times(const T* x, std::size_t rows, const std::type_identity_t<T>* W, const std::type_identity_t<T>* s,
                    const std::type_identity_t<T>* c, std::type_identity_t<T>* y) {
    auto run = [&]<bool Scaled>() {
        switch (rows) {
            case 1: return detail::few_rows<1, In, Out, Scaled>(x, W, s, c, y);
            case 2: return detail::few_rows<2, In, Out, Scaled>(x, W, s, c, y);
            case 3: return detail::few_rows<3, In, Out, Scaled>(x, W, s, c, y);
            case 4: return detail::few_rows<4, In, Out, Scaled>(x, W, s, c, y);
            default: throw std::logic_error("layerwise: few_rows_times: takes 1 to 4 rows");
        }
    };
    if (s != nullptr) run.template operator()<true>();
    else run.template operator()<false>();
}

}  // namespace layerwise
