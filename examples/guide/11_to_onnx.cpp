// docs/guide.md, section 14 (To ONNX): a network trained here written as an ONNX model that
// ends in Softmax, for another runtime; 11_to_onnx.py then checks it with onnx.checker and runs
// it in OpenCV's DNN module. Compiled and run as the test guide.to_onnx, before the Python side.
#include "thirds.hpp"

#include <layerwise/io/npy.hpp>
#include <layerwise/io/onnx.hpp>
#include <layerwise/layerwise.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

using namespace layerwise;
using guide::quiet;

using Net = Sequential<Dense<2, 64>, BatchNorm<64>, ReLU, Dense<64, 64>, ReLU, Dense<64, 3>>;

int main() {
    const guide::Thirds data;
    Net net;
    init(net, 1);
    Adam<float> adam;
    fit(net, adam, data.train(), data.val(), quiet(5));

    io::save_onnx(net, "to_onnx.onnx", {.softmax = true});  // the graph ends in Softmax: probabilities
    std::printf("wrote to_onnx.onnx\n");

    // Five validation points and our probabilities on them, for the other runtime to match.
    Matrix<float> x = zeros<float>(5, 2);
    for (std::size_t i = 0; i < 5; ++i) x(i, 0) = data.x_val(i, 0), x(i, 1) = data.x_val(i, 1);
    Matrix<float> p = net.forward(x, Mode::inference);
    for (std::size_t i = 0; i < p.shape(0); ++i) {  // softmax of each row of logits
        float top = p(i, 0), sum = 0;
        for (std::size_t j = 1; j < p.shape(1); ++j) top = std::max(top, p(i, j));
        for (std::size_t j = 0; j < p.shape(1); ++j) sum += (p(i, j) = std::exp(p(i, j) - top));
        for (std::size_t j = 0; j < p.shape(1); ++j) p(i, j) /= sum;
    }
    std::ofstream("to_onnx_x.npy", std::ios::binary) << io::encode_npy(x.data(), io::Shape{5, 2});
    std::ofstream("to_onnx_probabilities.npy", std::ios::binary) << io::encode_npy(p.data(), io::Shape{5, 3});
    std::printf("wrote to_onnx_x.npy and to_onnx_probabilities.npy\n");
}
