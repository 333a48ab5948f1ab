// layerwise/io/npy.hpp — one array in NumPy's .npy format, as bytes in memory.
//
//   "\x93NUMPY"  1 0  header length (uint16, little-endian)  header  elements
//
// The header is a Python dict literal, padded with spaces and ending in '\n' so that
// magic, version, length and header together fill a multiple of 64 bytes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (784, 128), }
// The elements follow in C (row-major) order, little-endian, as the CPU stores them.
//
// encode_npy writes version 1.0. decode_npy reads versions 1.0, 2.0 and 3.0 (which only
// widen the length field) with the keys in any order, and never trusts a length it has
// not checked: every error is a CheckpointError that starts with the caller's `where`.
#pragma once

#include "checkpoint_error.hpp"

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace layerwise::io {

static_assert(std::endian::native == std::endian::little,
              "layerwise::io writes the CPU's bytes as little-endian '<f4'/'<f8'; a big-endian port needs byte swapping");
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559 && sizeof(float) == 4 &&
              sizeof(double) == 8, "layerwise::io needs IEEE 754 float and double");

/// An array's shape, outermost dimension first: {784, 128} for a kernel, {128} for a bias.
using Shape = std::vector<std::size_t>;

/// NumPy's spelling of element type T ("descr"); empty for types .npy files do not hold here.
/// Untrusted bytes from a file, made safe for a message: at most 60 of them, each byte that
/// is not printable ASCII written as \xNN, and "..." when cut.
inline std::string printable_bytes(std::string_view bytes, std::size_t max = 60) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
        const unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += char(c);
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (bytes.size() > max) out += "...";
    return out;
}

template <class T>
inline constexpr std::string_view npy_descr{};
template <>
inline constexpr std::string_view npy_descr<float> = "<f4";
template <>
inline constexpr std::string_view npy_descr<double> = "<f8";
template <>
inline constexpr std::string_view npy_descr<std::uint8_t> = "|u1";
template <>
inline constexpr std::string_view npy_descr<std::uint64_t> = "<u8";
template <>
inline constexpr std::string_view npy_descr<std::int64_t> = "<i8";

/// Python's spelling of a shape: "(784, 128)", "(128,)", "()".
inline std::string shape_text(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

/// The number of elements of an array of this shape; saturates at SIZE_MAX for absurd shapes.
inline std::size_t element_count(const Shape& shape) {
    std::size_t n = 1;
    constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
    for (std::size_t d : shape) n = (d != 0 && n > max / d) ? max : n * d;
    return n;
}

/// The .npy bytes (version 1.0) of element_count(shape) elements of type T read from data.
template <class T>
std::string encode_npy(const T* data, const Shape& shape) {
    static_assert(!npy_descr<T>.empty(), "layerwise: encode_npy holds float, double or uint8_t");
    std::string header = "{'descr': '" + std::string(npy_descr<T>) + "', 'fortran_order': False, 'shape': " +
                         shape_text(shape) + ", }";
    const std::size_t prefix = 10;  // magic (6), version (2), header length (2)
    header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    if (header.size() > 0xffff) throw CheckpointError("layerwise: .npy header too long for format 1.0");
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);  // header length, little-endian
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    bytes.append(reinterpret_cast<const char*>(data), element_count(shape) * sizeof(T));
    return bytes;
}

/// What decode_npy found: the header's three keys and a view of the element bytes
/// (into the buffer given to decode_npy, which must outlive it).
struct NpyArray {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
    std::string_view data;
};

namespace detail {

// Reads the header dict: '{' [key ':' value (',' key ':' value)* [',']] '}', where a value
// is a quoted string, True, False, or a tuple of integers.
class NpyHeaderParser {
public:
    NpyHeaderParser(std::string_view text, std::string_view where) : text_(text), where_(where) {}

    NpyArray parse() {
        NpyArray a;
        bool descr = false, order = false, shape = false;
        expect('{');
        while (!accept('}')) {
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                a.descr = quoted();
                descr = true;
            } else if (key == "fortran_order") {
                a.fortran_order = boolean();
                order = true;
            } else if (key == "shape") {
                a.shape = tuple();
                shape = true;
            } else {
                fail("unknown key '" + io::printable_bytes(key) + "'");
            }
            if (!accept(',')) {
                expect('}');
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size()) fail("text after the closing '}'");
        if (!descr || !order || !shape) fail("needs the keys 'descr', 'fortran_order' and 'shape'");
        return a;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw CheckpointError(std::string(where_) + ": bad .npy header: " + what);
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
    }
    bool accept(char c) {
        skip_space();
        if (pos_ == text_.size() || text_[pos_] != c) return false;
        ++pos_;
        return true;
    }
    void expect(char c) {
        if (!accept(c)) fail(std::string("expected '") + c + "'");
    }
    bool accept_word(std::string_view word) {
        skip_space();
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }
    std::string quoted() {
        skip_space();
        const char quote = pos_ < text_.size() ? text_[pos_] : '\0';
        if (quote != '\'' && quote != '"') fail("expected a quoted string");
        const std::size_t end = text_.find(quote, pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return s;
    }
    bool boolean() {
        if (accept_word("True")) return true;
        if (accept_word("False")) return false;
        fail("expected True or False");
    }
    Shape tuple() {
        Shape shape;
        expect('(');
        while (!accept(')')) {
            std::size_t d = 0;
            const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), d);
            if (ec != std::errc{}) fail("expected a dimension (a non-negative integer)");
            pos_ = static_cast<std::size_t>(end - text_.data());
            accept('L');  // Python 2's long integers
            shape.push_back(d);
            if (!accept(',')) {
                expect(')');
                break;
            }
        }
        return shape;
    }

    std::string_view text_;
    std::string_view where_;
    std::size_t pos_ = 0;
};

}  // namespace detail

/// Splits .npy bytes into header fields and element bytes; throws if they are not a
/// well-formed .npy array (the element bytes are checked by require_dtype).
inline NpyArray decode_npy(std::string_view bytes, std::string_view where) {
    auto fail = [&](const std::string& what) { throw CheckpointError(std::string(where) + ": " + what); };
    auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
    if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY") fail("not a .npy array (no \\x93NUMPY magic)");
    const std::size_t major = byte(6);
    std::size_t length = 0, start = 0;
    if (major == 1) {  // uint16 header length
        length = byte(8) | byte(9) << 8;
        start = 10;
    } else if ((major == 2 || major == 3) && bytes.size() >= 12) {  // uint32 header length
        length = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
        start = 12;
    } else {
        fail("unsupported .npy version " + std::to_string(major) + "." + std::to_string(byte(7)));
    }
    if (length > bytes.size() - start) fail("the .npy header runs past the end of the member (truncated?)");
    NpyArray a = detail::NpyHeaderParser(bytes.substr(start, length), where).parse();
    a.data = bytes.substr(start + length);
    return a;
}

/// Throws unless `a` holds elements of type T in C order, exactly as many bytes as its shape needs.
template <class T>
void require_dtype(const NpyArray& a, std::string_view where) {
    const std::string prefix = std::string(where) + ": ";
    if (a.descr != npy_descr<T>)
        throw CheckpointError(prefix + "dtype '" + printable_bytes(a.descr) + "', expected '" + std::string(npy_descr<T>) + "'");
    if (a.fortran_order) throw CheckpointError(prefix + "stored in Fortran order, expected C order");
    const std::size_t count = element_count(a.shape);
    if (a.data.size() % sizeof(T) != 0 || a.data.size() / sizeof(T) != count)
        throw CheckpointError(prefix + "data is " + std::to_string(a.data.size()) + " bytes, shape " +
                              shape_text(a.shape) + " needs " + std::to_string(count) + " elements of " +
                              std::to_string(sizeof(T)) + " bytes (truncated?)");
}

}  // namespace layerwise::io
