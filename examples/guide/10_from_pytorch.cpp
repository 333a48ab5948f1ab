// docs/guide.md, section 13 (From PyTorch): a model trained in PyTorch and exported with
// torch.onnx.export (10_from_pytorch.py) loaded into the static type of the same architecture,
// and its outputs compared with PyTorch's. Compiled and run as the test guide.from_pytorch,
// after the Python side.
#include "thirds.hpp"

#include <layerwise/io/npy.hpp>
#include <layerwise/io/onnx.hpp>
#include <layerwise/layerwise.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace layerwise;
using guide::require;

// nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 3))
using Net = Sequential<Dense<2, 64>, BatchNorm<64>, ReLU, Dense<64, 64>, GELU, Dense<64, 3>>;

namespace {
// A float32 .npy of two dimensions, as numpy.save writes it.
Matrix<float> read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string b = bytes.str();
    const io::NpyArray a = io::decode_npy(b, path);
    io::require_dtype<float>(a, path);
    Matrix<float> m = zeros<float>(a.shape.at(0), a.shape.at(1));
    std::memcpy(m.data(), a.data.data(), a.data.size());
    return m;
}
}  // namespace

int main() {
    Net net;
    const io::OnnxImport found = io::load_onnx(net, "from_pytorch.onnx");
    std::printf("loaded from_pytorch.onnx: opset %lld, written by %s\n", static_cast<long long>(found.opset),
                found.producer.c_str());
    // PyTorch's BatchNorm1d keeps its own epsilon (1e-5) and momentum (0.1, ONNX's 0.9).
    std::printf("batch_normalization: epsilon %g, momentum %g\n", double(net.layer_as_declared<1>().epsilon),
                double(net.layer_as_declared<1>().momentum));

    const Matrix<float> x = read_npy("from_pytorch_x.npy");
    const Matrix<float> theirs = read_npy("from_pytorch_logits.npy");
    const Matrix<float>& ours = net.forward(x, Mode::inference);
    float largest = 0, diff = 0;
    for (std::size_t k = 0; k < ours.size(); ++k) {
        largest = std::max(largest, std::abs(theirs.data()[k]));
        diff = std::max(diff, std::abs(ours.data()[k] - theirs.data()[k]));
    }
    std::printf("largest difference from PyTorch's logits: %.2g (of logits up to %.3g)\n", double(diff), double(largest));
    require(diff <= 1e-5f * largest, "the logits agree with PyTorch's to 1e-5 relative");
}
