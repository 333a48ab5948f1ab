// libFuzzer harness: io::load_npz into a small network. The only accepted failure is
// io::CheckpointError.
//
// Input layout: byte 0 chooses how the rest becomes the .npz file.
//   bit 0 clear   the rest is the file, byte for byte. libzip is not instrumented and turns
//                 down almost any mutation of a valid archive (CRCs, directory), so this
//                 mostly reaches the zip reader's error paths.
//   bit 0 set     the harness builds a valid zip with libzip whose members are the rest of
//                 the input cut at each kSeparator: piece 0 is "__signature__.npy", pieces
//                 1.. the network's parameters in the order load_npz reads them
//                 ("dense/kernel.npy", ...), and any further pieces "extra_<k>.npy"; fewer
//                 pieces leave members out. Mutations then reach the .npy, signature and
//                 shape checks.
//   bit 1         (with bit 0) members are deflated instead of stored.
//   bit 2         (with bit 0) the harness adds the network's own signature member, as
//                 save_npz writes it, and the pieces are the parameters only: mutations then
//                 get past the signature check to the parameters' checks.
//   bit 3         (with bit 0) 64 KiB of zeros are appended to the last member: more than
//                 load_npz reads for any member of this network.
#include "fuzz_common.hpp"

#include <layerwise/io/npz.hpp>
#include <layerwise/layerwise.hpp>

#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace layerwise;
using Net = Sequential<Dense<4, 3>, BatchNorm<3>, ReLU, Dense<3, 2>>;

constexpr std::string_view kSeparator = "@@member@@";  // make_corpus writes the same

// The member names in the order of the pieces.
const std::vector<std::string>& member_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n{std::string(io::signature_member)};
        Net net;
        for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto&) { n.push_back(std::string(p.name) + ".npy"); });
        return n;
    }();
    return names;
}

// The network's signature member as save_npz writes it (read back from a saved file).
const std::string& own_signature() {
    static const std::string bytes = [] {
        const std::filesystem::path file = fuzz::scratch_dir("npz") / "reference.npz";
        Net net;
        io::save_npz(net, file);
        return io::ZipReader(file).read(std::string(io::signature_member), 1 << 20);
    }();
    return bytes;
}

// Writes a zip at file holding pieces (each named as above), through libzip's writer.
void write_zip(const std::filesystem::path& file, const std::vector<std::string_view>& pieces, bool deflate) {
    int code = 0;
    zip_t* zip = zip_open(file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (zip == nullptr) fuzz::die("zip_open failed for", file);
    const auto& names = member_names();
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        const std::string name = k < names.size() ? names[k] : "extra_" + std::to_string(k) + ".npy";
        zip_source_t* source = zip_source_buffer(zip, pieces[k].data(), pieces[k].size(), 0);  // read at zip_close
        const zip_int64_t index = source ? zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
        if (index < 0 || zip_set_file_compression(zip, zip_uint64_t(index), deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 1) < 0)
            fuzz::die("cannot add a member to", file);
    }
    if (zip_close(zip) < 0) fuzz::die("zip_close failed for", file);  // no members: libzip writes no file
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const unsigned mode = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::filesystem::path file = fuzz::scratch_dir("npz") / "model.npz";
    std::filesystem::remove(file);

    if (mode & 1) {
        std::vector<std::string_view> pieces;
        if (mode & 4) pieces.push_back(own_signature());  // the input's pieces are then the parameters
        for (std::size_t start = 0;;) {
            const std::size_t end = rest.find(kSeparator, start);
            pieces.push_back(rest.substr(start, end == rest.npos ? rest.npos : end - start));
            if (end == rest.npos) break;
            start = end + kSeparator.size();
        }
        std::string padded;
        if (mode & 8) pieces.back() = padded = std::string(pieces.back()) + std::string(1 << 16, '\0');
        write_zip(file, pieces, mode & 2);
    } else {
        fuzz::write_file(file, data + 1, size - 1);
    }

    Net net;
    try {
        io::load_npz(net, file);
    } catch (const io::CheckpointError&) {
    }
    return 0;
}
