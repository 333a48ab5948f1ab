// io/onnx.hpp: the round trip save_onnx -> load_onnx is bit for bit, settings included; the
// graph is refused by name where it is not the network (wrong layer, wrong size, unknown
// operator, truncated file), and a refused file leaves the network as it was. The other
// runtimes' side (onnx.checker, OpenCV, PyTorch) is tests/onnx_checks/check_onnx.py.
#include "onnx_checks/networks.hpp"
#include "testing.hpp"

#include <layerwise/io/onnx.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace layerwise;
using onnx_test::Every;

namespace {

std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("layerwise_test_onnx_" + name)).string();
}

// Every parameter's bytes, in walk order.
template <class Net>
std::vector<char> parameter_bytes(Net& net) {
    std::vector<char> bytes;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
        const char* p = reinterpret_cast<const char*>(value.data());
        bytes.insert(bytes.end(), p, p + value.size() * sizeof(*value.data()));
    });
    return bytes;
}

// What load_onnx throws for net and the file at path ("" when it does not throw).
template <class Net>
std::string refusal(Net& net, const std::string& path) {
    try {
        io::load_onnx(net, path);
    } catch (const io::CheckpointError& e) {
        return e.what();
    }
    return "";
}

template <class Net>
Matrix<float> inputs_for(std::size_t rows) {
    Matrix<float> x = zeros<float>(rows, Net::in_features);
    for (std::size_t k = 0; k < x.size(); ++k) x.data()[k] = float(std::sin(0.37 * double(k)));
    return x;
}

}  // namespace

TEST_CASE("save_onnx then load_onnx gives every parameter and setting back bit for bit") {
    Every a;
    onnx_test::randomize(a, 7);
    const std::string path = temp_file("every.onnx");
    io::save_onnx(a, path);

    Every b;  // defaults: other parameters, epsilons, slopes
    const io::OnnxImport found = io::load_onnx(b, path);
    CHECK(found.opset == 17);
    CHECK(found.producer.rfind("layerwise", 0) == 0);
    CHECK_FALSE(found.softmax);
    CHECK(parameter_bytes(a) == parameter_bytes(b));
    CHECK(b.layer_as_declared<1>().epsilon == a.layer_as_declared<1>().epsilon);
    CHECK(b.layer_as_declared<1>().momentum == a.layer_as_declared<1>().momentum);
    CHECK(b.layer_as_declared<4>().epsilon == 1e-4f);
    CHECK(b.layer_as_declared<10>().fn.alpha == 0.7f);  // ELU's alpha travels as a float attribute
    CHECK(b.layer_as_declared<13>().fn.slope == 0.2f);
    CHECK_FALSE(b.layer_as_declared<5>().fn.tanh_approximation);
    CHECK(b.layer_as_declared<16>().blocks[1].layer_as_declared<1>().fn.tanh_approximation);

    const Matrix<float> x = inputs_for<Every>(5);
    const Matrix<float> ya = a.forward(x, Mode::inference);
    const Matrix<float> yb = b.forward(x, Mode::inference);
    CHECK(std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0);
    std::filesystem::remove(path);
}

TEST_CASE("save_onnx of a double network and of a frozen one round-trips") {
    using Net = seed::BnMlp<4>;
    Net net;
    onnx_test::randomize(net, 3);
    const std::string path = temp_file("double.onnx");
    Net::rebind<double> d;
    onnx_test::randomize(d, 3);
    io::save_onnx(d, path);
    Net::rebind<double> d2;
    io::load_onnx(d2, path);
    CHECK(parameter_bytes(d) == parameter_bytes(d2));

    auto frozen = freeze(net);  // every BatchNorm folded into its Dense: Dense and ReLU only
    io::save_onnx(frozen, path);
    decltype(frozen) frozen2;
    io::load_onnx(frozen2, path);
    CHECK(parameter_bytes(frozen) == parameter_bytes(frozen2));
    std::filesystem::remove(path);
}

TEST_CASE("save_onnx with softmax ends in Softmax, and load_onnx reports it") {
    seed::PlainMlp<3> net;
    const std::string path = temp_file("softmax.onnx");
    io::save_onnx(net, path, {.softmax = true});
    seed::PlainMlp<3> back;
    CHECK(io::load_onnx(back, path).softmax);
    CHECK(parameter_bytes(back) == parameter_bytes(net));
    std::filesystem::remove(path);
}

TEST_CASE("load_onnx refuses a graph that is not the network, naming the first difference, and changes nothing") {
    const std::string path = temp_file("refused.onnx");
    seed::PlainMlp<4> plain;
    io::save_onnx(plain, path);

    seed::BnMlp<4> bn;
    onnx_test::randomize(bn, 11);
    const std::vector<char> before = parameter_bytes(bn);
    const float epsilon_before = bn.layer_as_declared<1>().epsilon;
    CHECK(refusal(bn, path) == path + ": node 1 (Relu) where the network has BatchNorm<128> (layer 1), which is "
                                      "BatchNormalization in ONNX");
    CHECK(parameter_bytes(bn) == before);
    CHECK(bn.layer_as_declared<1>().epsilon == epsilon_before);

    // One width off: the Gemm's size is named against the Dense's.
    Sequential<Dense<784, 128>, ReLU, Dense<128, 64>, ReLU, Dense<64, 10>> narrower;
    CHECK(refusal(narrower, path) == path + ": node 2 (Gemm) is 128 x 128, Dense<128, 64> (layer 2) expected");

    // Fewer layers in the graph than in the network, and more.
    seed::PlainMlp<5> deeper;
    CHECK(refusal(deeper, path) ==
          path + ": node 6 (Gemm) is 128 x 10, Dense<128, 128> (layer 6) expected");
    seed::PlainMlp<3> shallower;
    CHECK(refusal(shallower, path).find("is 128 x 128, Dense<128, 10> (layer 4) expected") != std::string::npos);
    std::filesystem::remove(path);
}

TEST_CASE("load_onnx refuses an operator it does not know by name, and a truncated or missing file") {
    const std::string path = temp_file("edited.onnx");
    seed::PlainMlp<3> net;
    onnx::ModelProto model = io::onnx_model(net);
    model.mutable_graph()->mutable_node(1)->set_op_type("HardSwish");
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    {
        std::ofstream(path, std::ios::binary) << bytes;
    }
    seed::PlainMlp<3> into;
    CHECK(refusal(into, path) == path + ": node 1 (HardSwish) where the network has ReLU (layer 1), which is Relu in ONNX");

    {
        std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size() / 2));
    }
    CHECK(refusal(into, path) == path + ": not an ONNX model: the protobuf does not parse (truncated, or another format)");
    {
        std::ofstream(path, std::ios::binary | std::ios::trunc);
    }
    CHECK(refusal(into, path) == path + ": empty file, not an ONNX model");
    std::filesystem::remove(path);
    CHECK(refusal(into, path).rfind(path + ": cannot open", 0) == 0);
}

TEST_CASE("load_onnx refuses an input width, an opset and a graph output that do not fit") {
    const std::string path = temp_file("misc.onnx");
    seed::PlainMlp<3> net;
    {
        onnx::ModelProto model = io::onnx_model(net);
        model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(100);
        std::ofstream(path, std::ios::binary) << model.SerializeAsString();
    }
    CHECK(refusal(net, path) == path + ": the input 'input' has 100 features, the network takes 784");
    {
        onnx::ModelProto model = io::onnx_model(net);
        model.mutable_opset_import(0)->set_version(9);
        std::ofstream(path, std::ios::binary | std::ios::trunc) << model.SerializeAsString();
    }
    CHECK(refusal(net, path) == path + ": opset 9; layerwise reads opsets 13 to 18");
    std::filesystem::remove(path);
}

TEST_CASE("save_onnx leaves an earlier file in place when it cannot write, and names the file") {
    seed::PlainMlp<3> net;
    const std::string path = temp_file("no_such_dir") + "/model.onnx";
    try {
        io::save_onnx(net, path);
        FAIL("save_onnx wrote into a directory that does not exist");
    } catch (const io::CheckpointError& e) {
        CHECK(std::string(e.what()).rfind(path + ": cannot create", 0) == 0);
    }
}
