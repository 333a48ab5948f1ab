// onnx_models — the C++ side of tests/onnx_checks/check_onnx.py:
//
//   onnx_models export NET model.onnx inputs.npy outputs.npy
//       builds NET with parameters away from their defaults (networks.hpp), writes it with
//       save_onnx, and writes fixed inputs and its inference outputs on them as .npy (float32)
//   onnx_models import NET model.onnx inputs.npy outputs.npy
//       loads model.onnx into NET's static type with load_onnx, and writes its inference
//       outputs on inputs.npy
//
// NET is bn, plain, skip, selu, layernorm or rezero (the seed's networks at depth 10), every
// or every_but_layernorm (networks.hpp).
#include "networks.hpp"

#include <layerwise/io/npy.hpp>
#include <layerwise/io/onnx.hpp>
#include <layerwise/models/seed_select.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

using namespace layerwise;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out) throw std::runtime_error(path + ": cannot write");
}

void write_matrix(const std::string& path, const Matrix<float>& m) {
    write_file(path, io::encode_npy(m.data(), io::Shape{m.shape(0), m.shape(1)}));
}

Matrix<float> read_matrix(const std::string& path, std::size_t columns) {
    const std::string bytes = read_file(path);
    const io::NpyArray a = io::decode_npy(bytes, path);
    io::require_dtype<float>(a, path);
    if (a.shape.size() != 2 || a.shape[1] != columns)
        throw std::runtime_error(path + ": shape " + io::shape_text(a.shape) + ", expected (rows, " +
                                 std::to_string(columns) + ")");
    Matrix<float> m = zeros<float>(a.shape[0], a.shape[1]);
    std::memcpy(m.data(), a.data.data(), m.size() * sizeof(float));
    return m;
}

// Fixed inputs: pixel-like values in [0, 1] for the seed's 784-wide networks, [-2, 2] otherwise.
template <class Net>
Matrix<float> fixed_inputs() {
    Matrix<float> x = zeros<float>(6, Net::in_features);
    const bool pixels = Net::in_features == seed::input_width;
    for (std::size_t k = 0; k < x.size(); ++k) {
        const double s = std::sin(0.61 * double(k) + 0.3);
        x.data()[k] = float(pixels ? 0.5 + 0.5 * s : 2.0 * s);
    }
    return x;
}

template <class Net>
int run(const std::string& command, const std::string& model, const std::string& inputs, const std::string& outputs) {
    Net net;
    if (command == "export") {
        onnx_test::randomize(net, 20261203);
        io::save_onnx(net, model);
        const Matrix<float> x = fixed_inputs<Net>();
        write_matrix(inputs, x);
        write_matrix(outputs, net.forward(x, Mode::inference));
    } else {
        const io::OnnxImport found = io::load_onnx(net, model);
        std::cout << model << ": opset " << found.opset << ", from " << found.producer
                  << (found.softmax ? ", ends in Softmax" : "") << "\n";
        const Matrix<float> x = read_matrix(inputs, Net::in_features);
        write_matrix(outputs, net.forward(x, Mode::inference));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"the C++ side of the ONNX checks (tests/onnx_checks/check_onnx.py)"};
    std::string command, name, model, inputs, outputs;
    app.add_option("command", command, "export or import")->required()->check(CLI::IsMember({"export", "import"}));
    app.add_option("net", name, "the network")
        ->required()
        ->check(CLI::IsMember({"bn", "plain", "skip", "selu", "layernorm", "rezero", "every", "every_but_layernorm"}));
    app.add_option("model", model, "the .onnx file")->required();
    app.add_option("inputs", inputs, "the inputs (.npy, float32)")->required();
    app.add_option("outputs", outputs, "the outputs (.npy, float32)")->required();
    CLI11_PARSE(app, argc, argv);
    try {
        if (name == "every") return run<onnx_test::Every>(command, model, inputs, outputs);
        if (name == "every_but_layernorm") return run<onnx_test::EveryButLayerNorm>(command, model, inputs, outputs);
        int status = 0;
        seed::with_config(seed::parse_config(name), [&]<seed::Config C>() {
            status = run<seed::Network<C, 10>>(command, model, inputs, outputs);
        });
        return status;
    } catch (const std::exception& e) {
        std::cerr << "onnx_models: " << e.what() << "\n";
        return 1;
    }
}
