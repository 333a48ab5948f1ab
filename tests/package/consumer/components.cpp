// A user's program that links every component and includes the umbrella header: saves a
// network to .npz and loads it into another (io), reads back a gzip IDX file it wrote with
// zlib (data), summarises the parameters (diagnostics), and writes the network as ONNX and
// reads it back (onnx).
#include <layerwise/io/onnx.hpp>
#include <layerwise/layerwise.hpp>

#include <zlib.h>

#include <cstdint>
#include <iostream>
#include <vector>

int main() {
    using namespace layerwise;
    using Net = Sequential<Dense<4, 8>, BatchNorm<8>, ReLU, Dense<8, 3>>;
    Net a, b;
    init(a, 7);
    init(b, 8);
    io::save_npz(a, "consumer_checkpoint.npz");  // io
    io::load_npz(b, "consumer_checkpoint.npz");
    std::vector<float> pa, pb;
    for_each_parameter(a, [&](const ParameterInfo&, auto& p, auto&) { pa.insert(pa.end(), p.begin(), p.end()); });
    for_each_parameter(b, [&](const ParameterInfo&, auto& p, auto&) { pb.insert(pb.end(), p.begin(), p.end()); });

    const std::uint8_t idx[] = {0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9};  // data: a 1-d ubyte IDX of 3 items
    gzFile gz = gzopen("consumer.idx.gz", "wb");
    gzwrite(gz, idx, sizeof idx);
    gzclose(gz);
    const data::IdxArray read = data::read_idx("consumer.idx.gz", 1);

    Net c;
    io::save_onnx(a, "consumer_model.onnx");  // onnx
    io::load_onnx(c, "consumer_model.onnx");
    std::vector<float> pc;
    for_each_parameter(c, [&](const ParameterInfo&, auto& p, auto&) { pc.insert(pc.end(), p.begin(), p.end()); });

    const diagnostics::TensorStats stats = diagnostics::tensor_stats(std::span<const float>(pa));  // diagnostics
    const bool ok = pa == pb && pa == pc && read.bytes == std::vector<std::uint8_t>{7, 8, 9} && stats.n == pa.size();
    std::cout << "components: npz and onnx reloaded " << pa.size() << " values, idx read " << read.bytes.size()
              << " items, stats over " << stats.n << " values, version " << LAYERWISE_VERSION_STRING << "\n";
    return ok ? 0 : 1;
}
