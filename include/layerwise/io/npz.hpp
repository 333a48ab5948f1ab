// layerwise/io/npz.hpp — checkpoints a Python user opens with numpy.load.
//
// save_npz(net, "model.npz") writes an .npz: a zip archive of .npy arrays (npy.hpp,
// zip.hpp), one per parameter, moving statistics included, named by its Keras name
// with ".npy" appended (io/keras_names.hpp), so that numpy.load("model.npz")["dense_3/kernel"]
// is that kernel. A layer of your own is named by its `name` member, or "layer_k".
// The arrays have the network's scalar type ('<f4' or '<f8') and their C++ shapes
// (kernel In x Out, vectors 1-D). One more member, "__signature__.npy", is a 1-D uint8
// array of UTF-8 text describing the network:
//
//   layerwise network: 136808 float32 parameters in 7 layers
//   layer 0: dense (Dense), output width 128
//     dense/kernel (784, 128)
//     dense/bias (128,)
//   layer 1: batch_normalization (BatchNormalization), output width 128
//   ...
//
// (in Python: numpy.load("model.npz")["__signature__"].tobytes().decode()).
//
// load_npz(net, "model.npz") compares that signature with net's own, so loading into
// a network with other layers, widths or scalar type throws an error saying what
// differs; then it reads and checks every array into temporaries, and only when all
// of them are good does it overwrite net's parameters: a failed load leaves net unchanged.
//
// save_npz writes "model.npz.tmp-<pid>" in the same directory, flushes it to disk and
// renames it over "model.npz", so the target is always either the old file or the
// complete new one; on failure the temporary file is removed.
//
// Both throw CheckpointError naming the file (and the member) on any failure.
// Link with -lzip (Debian: libzip-dev). POSIX only (getpid, fsync).
#pragma once

#include "../visit.hpp"
#include "keras_names.hpp"
#include "atomic_file.hpp"
#include "checkpoint_error.hpp"
#include "npy.hpp"
#include "zip.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace layerwise::io {

/// The member that holds the network's signature.
inline constexpr std::string_view signature_member = "__signature__.npy";

namespace detail {

template <class V>
Shape shape_of(const V& value) {
    return Shape(value.shape().begin(), value.shape().end());
}

// The signature of net: a header line with the totals and the scalar type, then every
// leaf layer as written in the type (name, class, output width; a fused pair as its two
// layers) followed by its parameters (name, shape).
template <class Net>
std::string signature(Net& net) {
    using T = typename Net::scalar_type;
    std::size_t parameters = 0, layers = 0;
    std::string body;
    for_each_layer<KerasNaming>(net, [&](auto& layer, const LayerInfo& li) {
        const std::string name(li.name);
        body += "layer " + std::to_string(li.index) + ": " + name + " (" + std::string(li.type) +
                "), output width " + (li.out_width == any_width ? std::string("any") : std::to_string(li.out_width)) + "\n";
        layer.visit_parameters([&](std::string_view kind, auto& value, auto&, bool, auto...) {
            body += "  " + name + "/" + std::string(kind) + " " + shape_text(shape_of(value)) + "\n";
            parameters += value.size();
        });
        ++layers;
    });
    const std::string scalar = std::is_same_v<T, float> ? "float32" : "float64";
    return "layerwise network: " + std::to_string(parameters) + " " + scalar + " parameters in " +
           std::to_string(layers) + " layers\n" + body;
}

inline std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        lines.push_back(text.substr(0, end));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return lines;
}

// Throws unless the saved signature equals ours, saying what differs:
//   "model.npz: saved network has 238474 float32 parameters in 28 layers, this one has
//    493834 float32 parameters in 73 layers; first difference: saved "layer 27: dense_9
//    (Dense), output width 10", this one "layer 27: dense_9 (Dense), output width 128""
inline void require_same_signature(std::string_view saved, std::string_view ours, const std::string& file) {
    if (saved == ours) return;
    constexpr std::string_view prefix = "layerwise network: ";
    const std::vector<std::string_view> a = split_lines(saved), b = split_lines(ours);
    if (a.empty() || !a[0].starts_with(prefix))
        throw CheckpointError(file + ": " + std::string(signature_member) + ": not a layerwise network signature");
    std::string message = file + ": saved network has " + printable_bytes(a[0].substr(prefix.size()), 120) +
                          ", this one has " + std::string(b[0].substr(prefix.size()));
    std::size_t i = 1;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    auto line = [](const std::vector<std::string_view>& lines, std::size_t k) {
        if (k >= lines.size()) return std::string("(end)");
        const std::string_view s = lines[k];
        return printable_bytes(s.substr(std::min(s.find_first_not_of(' '), s.size())), 120);
    };
    if (i < a.size() || i < b.size())
        message += "; first difference: saved \"" + line(a, i) + "\", this one \"" + line(b, i) + "\"";
    throw CheckpointError(message);
}

// Asks the OS to put the file's bytes on disk before it is renamed into place.
inline void sync_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY);
    const bool ok = fd >= 0 && ::fsync(fd) == 0;
    const int error = errno;
    if (fd >= 0) ::close(fd);
    if (!ok) throw CheckpointError(file.string() + ": cannot flush to disk: " + std::strerror(error));
}

// Writes a zip archive to `file` atomically: fill(zip) adds the members; the archive is
// flushed to disk and renamed over `file` (see the top of the file).
template <class Fill>
void write_zip_atomically(const std::filesystem::path& file, Fill&& fill) {
    const std::error_code error = replace_atomically(file, [&](const std::filesystem::path& temp) {
        {
            ZipWriter zip(temp);
            fill(zip);
            zip.commit();
        }
        sync_file(temp);
    });
    if (error)
        throw CheckpointError(file.string() + ": cannot replace it with " + temporary_sibling(file) + ": " +
                              error.message());
}

// Adds net's signature and every parameter to zip.
template <class Net>
void add_network(ZipWriter& zip, Net& net) {
    const std::string text = signature(net);
    zip.add(std::string(signature_member), encode_npy(reinterpret_cast<const std::uint8_t*>(text.data()), {text.size()}));
    for_each_parameter<KerasNaming>(net, [&](const ParameterInfo& p, auto& value, auto&) {
        zip.add(std::string(p.name) + ".npy", encode_npy(value.data(), shape_of(value)));
    });
}

// Reads and checks net's signature and parameters from zip (`name`: the file, for messages)
// into a staged copy, one string of element bytes per parameter; net is not touched.
template <class Net>
std::vector<std::string> read_network(const ZipReader& zip, Net& net, const std::string& name) {
    using T = typename Net::scalar_type;

    // 1. The signature: the same layers, widths and scalar type.
    {
        const std::string where = name + ": " + std::string(signature_member);
        const std::size_t max_signature_bytes = std::size_t(1) << 24;
        const std::string bytes = zip.read(std::string(signature_member), max_signature_bytes);
        const NpyArray a = decode_npy(bytes, where);
        require_dtype<std::uint8_t>(a, where);
        if (a.shape.size() != 1) throw CheckpointError(where + ": shape " + shape_text(a.shape) + ", expected 1-D");
        detail::require_same_signature(a.data, detail::signature(net), name);
    }

    // 2. Every parameter, checked and copied into a temporary, in the order of the walk.
    std::vector<std::string> staged;
    for_each_parameter<KerasNaming>(net, [&](const ParameterInfo& p, auto& value, auto&) {
        const std::string member = std::string(p.name) + ".npy";
        const std::string where = name + ": " + member;
        const std::size_t max_header_bytes = 12 + 0xffff;  // the longest .npy prefix and header we accept
        const std::string bytes = zip.read(member, value.size() * sizeof(T) + max_header_bytes);
        const NpyArray a = decode_npy(bytes, where);
        require_dtype<T>(a, where);
        const Shape expected = detail::shape_of(value);
        if (a.shape != expected)
            throw CheckpointError(where + ": shape " + shape_text(a.shape) + ", expected " + shape_text(expected));
        staged.emplace_back(a.data);
    });
    return staged;
}

// Copies what read_network staged into net's parameters (nothing here can fail).
template <class Net>
void commit_network(Net& net, const std::vector<std::string>& staged) {
    std::size_t k = 0;
    for_each_parameter<KerasNaming>(net, [&](const ParameterInfo&, auto& value, auto&) {
        std::memcpy(value.data(), staged[k].data(), staged[k].size());
        ++k;
    });
}

}  // namespace detail

/// Writes every parameter of net, and its signature, to the .npz file `file`.
template <class Net>
void save_npz(Net& net, const std::filesystem::path& file) {
    static_assert(!npy_descr<typename Net::scalar_type>.empty(), "layerwise: save_npz saves float and double networks");
    detail::write_zip_atomically(file, [&](ZipWriter& zip) { detail::add_network(zip, net); });
}

/// Reads the parameters of net from the .npz file `file`, written by save_npz for a
/// network of the same type. All or nothing: on any error net is left unchanged.
template <class Net>
void load_npz(Net& net, const std::filesystem::path& file) {
    static_assert(!npy_descr<typename Net::scalar_type>.empty(), "layerwise: load_npz loads float and double networks");
    const ZipReader zip(file);
    detail::commit_network(net, detail::read_network(zip, net, file.string()));
}

}  // namespace layerwise::io
