// layerwise/diagnostics/crc32c.hpp — CRC-32C (Castagnoli), the checksum of TFRecord files.
//
//   crc32c:        reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF,
//                  one 256-entry table built at compile time, one table look-up per byte.
//   masked_crc32c: TFRecord stores rotate_right(crc, 15) + 0xa282ead8 rather than the CRC
//                  itself, so that a CRC over data that itself holds CRCs stays well mixed.
//
// Check value (from the CRC catalogue): crc32c("123456789") == 0xE3069283.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace layerwise::diagnostics {

namespace detail {
inline constexpr std::uint32_t crc32c_polynomial = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

// table[b] = the CRC register after shifting the byte b through it bit by bit.
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = b;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ crc32c_polynomial : c >> 1;
        table[b] = c;
    }
    return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32c_table = make_crc32c_table();
static_assert(crc32c_table[1] == 0xF26B8303u && crc32c_table[128] == crc32c_polynomial);
}  // namespace detail

/// CRC-32C of the n bytes at data.
inline std::uint32_t crc32c(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) c = detail::crc32c_table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/// CRC-32C of the bytes of s.
inline std::uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }

/// The CRC as TFRecord stores it: rotated right by 15 bits, plus a constant (mod 2^32).
constexpr std::uint32_t masked_crc32c(std::uint32_t c) {
    return static_cast<std::uint32_t>(((c >> 15) | (c << 17)) + 0xa282ead8u);
}

}  // namespace layerwise::diagnostics
