// layerwise/diagnostics/protobuf_wire.hpp — the handful of protocol buffer wire-format
// pieces needed to write TensorBoard's four messages (Event, Summary, Summary.Value,
// HistogramProto) by hand, instead of depending on libprotobuf.
//
// A message is a sequence of fields; each field is a key followed by its payload:
//   key            varint(field_number << 3 | wire_type)
//   varint   (0)   int64, base-128, least significant 7-bit group first, high bit = "more"
//   fixed64  (1)   double, 8 bytes little-endian
//   length   (2)   varint(byte count) then the bytes: strings, bytes, embedded messages and
//                  packed repeated scalars
//   fixed32  (5)   float, 4 bytes little-endian
// Every function appends to a std::string; an embedded message is first encoded into its
// own string, then written with write_bytes.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace layerwise::diagnostics::wire {

enum class WireType : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

inline void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

// Little-endian byte by byte, whatever the host's byte order.
inline void put_fixed64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

inline void put_fixed32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

inline void put_key(std::string& out, std::uint32_t field, WireType type) {
    put_varint(out, (std::uint64_t{field} << 3) | static_cast<std::uint32_t>(type));
}

/// int64 field: a negative number is its two's complement, so it takes 10 bytes.
inline void write_int64(std::string& out, std::uint32_t field, std::int64_t v) {
    put_key(out, field, WireType::varint);
    put_varint(out, static_cast<std::uint64_t>(v));
}

inline void write_double(std::string& out, std::uint32_t field, double v) {
    put_key(out, field, WireType::fixed64);
    put_fixed64(out, std::bit_cast<std::uint64_t>(v));
}

inline void write_float(std::string& out, std::uint32_t field, float v) {
    put_key(out, field, WireType::fixed32);
    put_fixed32(out, std::bit_cast<std::uint32_t>(v));
}

/// string, bytes or an already encoded embedded message.
inline void write_bytes(std::string& out, std::uint32_t field, std::string_view bytes) {
    put_key(out, field, WireType::length_delimited);
    put_varint(out, bytes.size());
    out.append(bytes);
}

/// repeated double [packed = true]: one key, the byte count, then 8 bytes per value.
inline void write_packed_doubles(std::string& out, std::uint32_t field, std::span<const double> values) {
    put_key(out, field, WireType::length_delimited);
    put_varint(out, 8 * values.size());
    for (double v : values) put_fixed64(out, std::bit_cast<std::uint64_t>(v));
}

}  // namespace layerwise::diagnostics::wire
