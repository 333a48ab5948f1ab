// Writes the fuzzers' seed corpus with the library's own writers (io::encode_npy,
// io::save_npz, io::onnx_model) and zlib: make_corpus DIR writes DIR/idx, DIR/npy, DIR/npz and
// DIR/onnx, in the input layouts that fuzz_idx.cpp, fuzz_npy.cpp, fuzz_npz.cpp and fuzz_onnx.cpp
// describe. The checked-in
// corpus is tests/fuzz/corpus (regenerate: build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus).
#include <layerwise/io/npz.hpp>
#include <layerwise/io/onnx.hpp>
#include <layerwise/layerwise.hpp>

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace layerwise;
using Bytes = std::string;

namespace {

void write(const fs::path& file, const Bytes& b) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(b.data(), std::streamsize(b.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    std::cout << file.string() << " (" << b.size() << " bytes)\n";
}

// A gzip stream (the format of .gz files) of b.
Bytes gzip(const Bytes& b) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
    Bytes out(deflateBound(&z, uLong(b.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data()));
    z.avail_in = uInt(b.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// An IDX file of unsigned bytes: 00 00 08 rank, big-endian sizes, elements.
Bytes idx(const std::vector<std::uint32_t>& shape, const Bytes& elements) {
    Bytes b{'\0', '\0', '\x08', char(shape.size())};
    for (std::uint32_t s : shape)
        for (int shift = 24; shift >= 0; shift -= 8) b += char(s >> shift);
    return b + elements;
}

// n 28 x 28 images (a bright square per image on a ramp) and their labels.
Bytes images(std::uint32_t n) {
    Bytes px(std::size_t(n) * 784, '\0');
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = char((i % 784 / 28 + i % 28) * 4);
    return idx({n, 28, 28}, px);
}
Bytes labels(std::uint32_t n) {
    Bytes l;
    for (std::uint32_t i = 0; i < n; ++i) l += char((3 * i + 1) % 10);
    return idx({n}, l);
}

// fuzz_idx's layout: flags, max_items - 1, labels length, labels, images.
Bytes idx_input(unsigned flags, unsigned max_items, const Bytes& label_file, const Bytes& image_file) {
    return Bytes{char(flags), char(max_items - 1), char(label_file.size())} + label_file + image_file;
}

void idx_corpus(const fs::path& dir) {
    write(dir / "plain", idx_input(0, 2, labels(2), images(2)));
    write(dir / "images_gzipped_by_harness", idx_input(1, 2, labels(2), images(2)));
    write(dir / "labels_gzipped_by_harness", idx_input(2, 3, labels(2), images(2)));
    write(dir / "raw_gzip_files", idx_input(0, 2, gzip(labels(1)), gzip(images(1))));
    write(dir / "harness_labels", idx_input(4, 3, "", images(3)));
    write(dir / "harness_labels_gzipped_images", idx_input(5, 1, "", images(1)));
}

void npy_corpus(const fs::path& dir) {
    const std::vector<float> f = {1.5f, -2.0f, 0.0f, 3.25f, 1e-8f, -7.0f};
    const std::vector<double> d = {0.1, 0.2, 0.3, 0.4};
    const std::vector<std::uint8_t> u = {'h', 'e', 'l', 'l', 'o'};
    write(dir / "float_2x3", io::encode_npy(f.data(), {2, 3}));
    write(dir / "double_4", io::encode_npy(d.data(), {4}));
    write(dir / "uint8_5", io::encode_npy(u.data(), {5}));
    write(dir / "float_scalar", io::encode_npy(f.data(), {}));
    write(dir / "float_0x3", io::encode_npy(f.data(), {0, 3}));
    // Version 2.0 (a 4-byte header length) and a header in another key order, with
    // Python 2's long integers and double quotes: what numpy itself may write.
    const std::string header = "{\"shape\": (2L, 3L), \"fortran_order\": True, \"descr\": \"<f4\"}\n";
    Bytes v2 = Bytes("\x93NUMPY\x02\x00", 8);
    for (int shift = 0; shift < 32; shift += 8) v2 += char(header.size() >> shift);
    v2 += header;
    v2.append(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float));
    write(dir / "float_2x3_v2_fortran", v2);
}

using Net = Sequential<Dense<4, 3>, BatchNorm<3>, ReLU, Dense<3, 2>>;  // as in fuzz_npz.cpp
const std::string separator = "@@member@@";                          // as in fuzz_npz.cpp

// What save_npz writes for net: the file, its signature member, and its parameters'
// members in fuzz_npz's order joined by the separator.
struct Npz {
    Bytes file, signature, parameters;
};
template <class N>
Npz npz_of(N& net, const fs::path& scratch) {
    io::save_npz(net, scratch);
    std::ifstream in(scratch, std::ios::binary);
    Npz npz{Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "", ""};
    const io::ZipReader zip(scratch);
    npz.signature = zip.read(std::string(io::signature_member), 1 << 20);
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) {
        npz.parameters += (npz.parameters.empty() ? "" : separator) + zip.read(std::string(p.name) + ".npy", 1 << 20);
    });
    fs::remove(scratch);
    return npz;
}

void npz_corpus(const fs::path& dir) {
    const fs::path scratch = fs::temp_directory_path() / ("make_corpus_" + std::to_string(::getpid()) + ".npz");
    Net net;
    init(net, 1);
    const Npz npz = npz_of(net, scratch);
    const Bytes members = npz.signature + separator + npz.parameters;
    write(dir / "raw_npz", '\0' + npz.file);
    write(dir / "members_stored", '\1' + members);
    write(dir / "members_deflated", '\3' + members);
    write(dir / "parameters_after_own_signature", '\5' + npz.parameters);
    write(dir / "parameters_last_too_long", '\x0d' + npz.parameters);
    write(dir / "parameters_last_missing", '\5' + npz.parameters.substr(0, npz.parameters.rfind(separator)));
    Net::rebind<double> wide;  // the same layers in float64: the signature check refuses it
    init(wide, 1);
    const Npz npz64 = npz_of(wide, scratch);
    write(dir / "members_float64", '\1' + npz64.signature + separator + npz64.parameters);
}

using FuzzOnnxNet = Sequential<Dense<4, 3>, BatchNorm<3>, ReLU, Residual<Dense<3, 3>, GELU>, ReZero<Dense<3, 3>, ELU>,
                               LayerNorm<3>, Dropout<>, LeakyReLU, Dense<3, 2>>;  // as in fuzz_onnx.cpp

// What save_onnx writes for the harness's network: as it is, ending in Softmax, with GELU's
// tanh form, and with a second opset entry the reader must pass over.
void onnx_corpus(const fs::path& dir) {
    FuzzOnnxNet net;
    init(net, 1);
    write(dir / "own", io::onnx_model(net).SerializeAsString());
    write(dir / "own_softmax", io::onnx_model(net, {.softmax = true}).SerializeAsString());
    net.layer_as_declared<3>().block.layer_as_declared<1>().fn.tanh_approximation = true;
    onnx::ModelProto model = io::onnx_model(net);
    write(dir / "own_gelu_tanh", model.SerializeAsString());
    onnx::OperatorSetIdProto& ml = *model.add_opset_import();
    ml.set_domain("ai.onnx.ml");
    ml.set_version(3);
    write(dir / "own_two_opsets", model.SerializeAsString());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_corpus DIR   (writes DIR/idx, DIR/npy, DIR/npz, DIR/onnx)\n";
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* h : {"idx", "npy", "npz", "onnx"}) fs::create_directories(root / h);
    idx_corpus(root / "idx");
    npy_corpus(root / "npy");
    npz_corpus(root / "npz");
    onnx_corpus(root / "onnx");
}
