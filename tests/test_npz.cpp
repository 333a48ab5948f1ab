// Checkpoints in NumPy's .npz format: exact round trips, refusals that leave the network
// unchanged, atomic saves, and a file that numpy.load opens (via Debian's /usr/bin/python3).
#include "testing.hpp"

#include <layerwise/io/npz.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

using namespace layerwise;
namespace fs = std::filesystem;
using layerwise::testing::read_file;
using layerwise::testing::TempDir;
using layerwise::testing::write_file;

namespace {

using Net = seed::BnMlp<3>;     // Dense+BatchNorm+ReLU twice, then Dense: 7 layers
using Deeper = seed::BnMlp<4>;  // one more Dense+BatchNorm+ReLU
using Narrower = Sequential<Dense<784, 64>, BatchNorm<64>, ReLU, Dense<64, 128>, BatchNorm<128>, ReLU, Dense<128, 10>>;
using NetDouble = Net::rebind<double>;
const std::string net_parameters = std::to_string(Net::parameter_count);        // 119306
const std::string deeper_parameters = std::to_string(Deeper::parameter_count);  // 136330


// Init, then a few SGD steps in train mode, so that every parameter, the moving
// statistics included, is far from its initial value.
template <class N>
std::unique_ptr<N> trained(std::uint64_t seed) {
    using T = typename N::scalar_type;
    auto net = std::make_unique<N>();
    init(*net, seed);
    for (std::uint64_t step = 0; step < 3; ++step) {
        const Matrix<T> x = layerwise::testing::random_matrix<T>(16, 784, seed + step, 0, 1);
        const Matrix<T> y = net->forward(x, Mode::train);
        net->backward(y);  // the gradient of 0.5 |y|^2
        for_each_parameter(*net, [](const ParameterInfo& p, auto& value, auto& grad) {
            if (p.trainable) value -= T(0.01) * grad;
        });
    }
    return net;
}

// The bytes of a matrix or vector.
template <class C>
std::string bytes_of(const C& m) {
    return std::string(reinterpret_cast<const char*>(m.data()), m.size() * sizeof(*m.data()));
}

// Every parameter's bytes, by name: equal maps mean bit-identical parameters.
template <class N>
std::map<std::string, std::string> parameter_bytes(N& net) {
    std::map<std::string, std::string> bytes;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) { bytes[std::string(p.name)] = bytes_of(value); });
    return bytes;
}

// The message of the CheckpointError that f throws; fails the test if it throws nothing.
template <class F>
std::string checkpoint_error(F&& f) {
    try {
        f();
    } catch (const io::CheckpointError& e) {
        return e.what();
    }
    FAIL_CHECK("expected a layerwise::io::CheckpointError");
    return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Requires that loading `file` into net throws a CheckpointError whose message names
// the file and contains each of `parts`, and that net is unchanged afterwards.
template <class N>
void require_refused(N& net, const fs::path& file, std::initializer_list<std::string> parts) {
    const auto before = parameter_bytes(net);
    const std::string message = checkpoint_error([&] { io::load_npz(net, file); });
    INFO("message: " << message);
    CHECK(contains(message, file.string()));
    for (const std::string& part : parts) CHECK(contains(message, part));
    CHECK(parameter_bytes(net) == before);
}

// Replaces one member of a zip archive with `bytes`, or deletes it when bytes is empty.
void rewrite_member(const fs::path& file, const std::string& member, const std::string& bytes) {
    int code = 0;
    zip_t* archive = zip_open(file.c_str(), 0, &code);
    REQUIRE(archive != nullptr);
    const zip_int64_t index = zip_name_locate(archive, member.c_str(), 0);
    REQUIRE(index >= 0);
    if (bytes.empty()) {
        REQUIRE(zip_delete(archive, static_cast<zip_uint64_t>(index)) == 0);
    } else {
        zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
        REQUIRE(zip_file_replace(archive, static_cast<zip_uint64_t>(index), source, 0) == 0);
    }
    REQUIRE(zip_close(archive) == 0);  // bytes is read here, while it is still alive
}

}  // namespace

TEST_CASE(".npy headers are format 1.0, padded to a multiple of 64 bytes") {
    const float data[6] = {1, 2, 3, 4, 5, 6};
    const std::string bytes = io::encode_npy(data, {2, 3});
    const std::size_t header_length = std::size_t(static_cast<unsigned char>(bytes[8])) | std::size_t(static_cast<unsigned char>(bytes[9])) << 8;
    CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    CHECK((10 + header_length) % 64 == 0);
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(bytes.substr(10, dict.size()) == dict);
    CHECK(bytes.find_first_not_of(' ', 10 + dict.size()) == 10 + header_length - 1);
    CHECK(bytes[10 + header_length - 1] == '\n');
    CHECK(bytes.size() == 10 + header_length + sizeof data);
    const io::NpyArray a = io::decode_npy(bytes, "x");
    CHECK(a.descr == "<f4");
    CHECK(a.shape == io::Shape{2, 3});
    CHECK(a.data == std::string_view(reinterpret_cast<const char*>(data), sizeof data));
    CHECK(io::shape_text({128}) == "(128,)");
    CHECK(io::shape_text({784, 128}) == "(784, 128)");
}

TEST_CASE("save then load gives bit-identical parameters and outputs") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz";
    auto net = trained<Net>(7);
    auto initial = std::make_unique<Net>();
    init(*initial, 7);
    const auto saved = parameter_bytes(*net);
    for (const auto& entry : parameter_bytes(*initial)) {
        const std::string& name = entry.first;  // not a structured binding: clang 14 cannot capture one (INFO does)
        INFO(name);
        CHECK(saved.at(name) != entry.second);  // training moved everything, moving statistics too
    }
    CHECK(saved.count("batch_normalization_1/moving_variance") == 1);

    io::save_npz(*net, file);
    CHECK(dir.entries() == std::set<std::string>{"model.npz"});  // no temporary file left

    auto loaded = std::make_unique<Net>();
    init(*loaded, 99);
    io::load_npz(*loaded, file);
    CHECK(parameter_bytes(*loaded) == saved);
    const Matrix<float> x = layerwise::testing::random_matrix<float>(8, 784, 3, 0, 1);
    const std::string expected = bytes_of(net->forward(x, Mode::inference));
    CHECK(bytes_of(loaded->forward(x, Mode::inference)) == expected);
}

TEST_CASE("the same parameters saved at different times and in different time zones give the same bytes") {
    TempDir dir("npz");
    auto net = trained<Net>(7);
    io::save_npz(*net, dir / "first.npz");
    // zip members carry a date with a resolution of 2 seconds: a save stamped with the
    // current time would differ after this pause
    ::sleep(2);
    const char* old_tz = std::getenv("TZ");
    const std::string restore = old_tz ? old_tz : "";
    ::setenv("TZ", "Pacific/Kiritimati", 1);  // UTC+14
    ::tzset();
    io::save_npz(*net, dir / "second.npz");
    if (old_tz) ::setenv("TZ", restore.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
    CHECK(read_file(dir / "first.npz") == read_file(dir / "second.npz"));
}

TEST_CASE("save then load in double, through a residual network") {
    using Skip = seed::SkipMlp<3>::rebind<double>;
    TempDir dir("npz");
    auto net = trained<Skip>(11);
    io::save_npz(*net, dir / "skip.npz");
    auto loaded = std::make_unique<Skip>();
    io::load_npz(*loaded, dir / "skip.npz");
    CHECK(parameter_bytes(*loaded) == parameter_bytes(*net));
    const Matrix<double> x = layerwise::testing::random_matrix<double>(4, 784, 5, 0, 1);
    const std::string expected = bytes_of(net->forward(x, Mode::inference));
    CHECK(bytes_of(loaded->forward(x, Mode::inference)) == expected);
}

TEST_CASE("loading into a different network throws, says what differs, and changes nothing") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz";
    io::save_npz(*trained<Net>(1), file);

    SUBCASE("deeper") {
        auto deeper = trained<Deeper>(2);
        require_refused(*deeper, file, {"saved network has " + net_parameters + " float32 parameters in 7 layers",
                                        "this one has " + deeper_parameters + " float32 parameters in 10 layers",
                                        "first difference: saved \"layer 6: dense_2 (Dense), output width 10\", "
                                        "this one \"layer 6: dense_2 (Dense), output width 128\""});
    }
    SUBCASE("shallower") {
        io::save_npz(*trained<Deeper>(2), file);
        auto net = trained<Net>(3);
        require_refused(*net, file, {"in 10 layers", "in 7 layers", "first difference"});
    }
    SUBCASE("narrower") {
        auto narrower = trained<Narrower>(2);
        require_refused(*narrower, file, {"first difference: saved \"layer 0: dense (Dense), output width 128\", "
                                          "this one \"layer 0: dense (Dense), output width 64\""});
    }
    SUBCASE("double instead of float") {
        auto in_double = trained<NetDouble>(2);
        require_refused(*in_double, file, {"saved network has " + net_parameters + " float32 parameters in 7 layers",
                                           "this one has " + net_parameters + " float64 parameters in 7 layers"});
    }
}

TEST_CASE("a missing, garbage, truncated or corrupted file throws and changes nothing") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz", bad = dir / "bad.npz";
    io::save_npz(*trained<Net>(1), file);
    auto net = trained<Net>(2);

    SUBCASE("missing") { require_refused(*net, dir / "no_such_model.npz", {"No such file"}); }
    SUBCASE("garbage") {
        write_file(bad, "these are not the weights you are looking for\n");
        require_refused(*net, bad, {"Not a zip archive"});
    }
    SUBCASE("empty") {
        write_file(bad, "");
        require_refused(*net, bad, {});
    }
    SUBCASE("truncated") {
        const std::string bytes = read_file(file);
        for (std::size_t length : {std::size_t(1), std::size_t(30), std::size_t(4096), bytes.size() / 3, bytes.size() / 2,
                                   bytes.size() - 1000, bytes.size() - 23, bytes.size() - 22, bytes.size() - 1}) {
            CAPTURE(length);
            write_file(bad, std::string_view(bytes).substr(0, length));
            require_refused(*net, bad, {});
        }
    }
    SUBCASE("a flipped byte in the middle of the first kernel") {
        std::string bytes = read_file(file);
        bytes[bytes.size() / 2] ^= 0x5a;
        write_file(bad, bytes);
        require_refused(*net, bad, {"dense/kernel.npy", "CRC"});
    }
}

TEST_CASE("a damaged member throws an error that names the file and the member") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz";
    io::save_npz(*trained<Net>(1), file);
    auto net = trained<Net>(2);
    const float floats[128] = {};
    const double doubles[128] = {};

    SUBCASE("missing member") {
        rewrite_member(file, "dense_1/bias.npy", "");
        require_refused(*net, file, {"dense_1/bias.npy", "missing"});
    }
    SUBCASE("missing signature") {
        rewrite_member(file, "__signature__.npy", "");
        require_refused(*net, file, {"__signature__.npy", "missing"});
    }
    SUBCASE("wrong dtype") {
        rewrite_member(file, "dense/bias.npy", io::encode_npy(doubles, {128}));
        require_refused(*net, file, {"dense/bias.npy", "dtype '<f8', expected '<f4'"});
    }
    SUBCASE("wrong shape") {
        rewrite_member(file, "batch_normalization/gamma.npy", io::encode_npy(floats, {2, 64}));
        require_refused(*net, file, {"batch_normalization/gamma.npy", "shape (2, 64), expected (128,)"});
    }
    SUBCASE("too few elements") {
        const std::string bytes = io::encode_npy(floats, {10});
        rewrite_member(file, "dense_2/bias.npy", bytes.substr(0, bytes.size() - 10 * sizeof(float) + 20));
        require_refused(*net, file, {"dense_2/bias.npy", "data is 20 bytes"});
    }
    SUBCASE("bad header") {
        std::string bytes = io::encode_npy(floats, {128});
        bytes.replace(bytes.find("False"), 5, "Maybe");
        rewrite_member(file, "dense/bias.npy", bytes);
        require_refused(*net, file, {"dense/bias.npy", "bad .npy header"});
    }
    SUBCASE("header longer than the member") {
        rewrite_member(file, "dense/bias.npy", std::string("\x93NUMPY\x01\x00\xff\x7f{'descr'", 18));
        require_refused(*net, file, {"dense/bias.npy", "runs past the end"});
    }
    SUBCASE("not .npy at all") {
        rewrite_member(file, "dense/kernel.npy", "hello");
        require_refused(*net, file, {"dense/kernel.npy", "not a .npy array"});
    }
    SUBCASE("signature of another network") {
        const std::string text = "layerwise network: 5 float32 parameters in 1 layers\nlayer 0: dense (Dense), output width 1\n";
        rewrite_member(file, "__signature__.npy", io::encode_npy(reinterpret_cast<const std::uint8_t*>(text.data()), {text.size()}));
        require_refused(*net, file, {"saved network has 5 float32 parameters in 1 layers",
                                     "first difference: saved \"layer 0: dense (Dense), output width 1\""});
    }
}

TEST_CASE("a failed save leaves the old file intact and no temporary file behind") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz";
    auto old_net = trained<Net>(1);
    auto new_net = trained<Net>(2);

    SUBCASE("into a directory that does not exist") {
        const fs::path nowhere = dir / "no_such_directory" / "model.npz";
        const std::string message = checkpoint_error([&] { io::save_npz(*new_net, nowhere); });
        CHECK(contains(message, nowhere.string()));
        CHECK(dir.entries().empty());
    }
    SUBCASE("over an existing file, when the temporary file cannot be written") {
        io::save_npz(*old_net, file);
        const std::string old_bytes = read_file(file);
        // Block the temporary file's name with a non-empty directory, so the save fails late.
        const std::string blocker = "model.npz.tmp-" + std::to_string(::getpid());
        fs::create_directory(dir / blocker);
        write_file(dir / blocker / "keep", "x");
        const std::string message = checkpoint_error([&] { io::save_npz(*new_net, file); });
        CHECK(contains(message, blocker));
        CHECK(read_file(file) == old_bytes);
        CHECK(dir.entries() == std::set<std::string>{"model.npz", blocker});
        auto loaded = std::make_unique<Net>();
        io::load_npz(*loaded, file);
        CHECK(parameter_bytes(*loaded) == parameter_bytes(*old_net));

        fs::remove_all(dir / blocker);  // and with the way clear, the save replaces the file
        io::save_npz(*new_net, file);
        CHECK(dir.entries() == std::set<std::string>{"model.npz"});
        io::load_npz(*loaded, file);
        CHECK(parameter_bytes(*loaded) == parameter_bytes(*new_net));
    }
}

TEST_CASE("numpy.load opens the file: keys, dtypes, shapes and values match") {
    TempDir dir("npz");
    const fs::path file = dir / "model.npz", script = dir / "read.py";
    auto net = trained<Net>(5);
    io::save_npz(*net, file);

    // For each array: key, dtype, shape, then the sum of its elements added left to right
    // in double (as below in C++, so equal to the last bit), its first and its last element.
    write_file(script, R"(import sys
try:
    import numpy as np
except ImportError:
    sys.exit(3)
with np.load(sys.argv[1]) as f:  # allow_pickle=False, numpy's default
    for key in sorted(f.files):
        a = f[key]
        if key == "__signature__":
            print(key, a.dtype.str, a.ndim, a.tobytes().decode("utf-8").splitlines()[0])
            continue
        total = 0.0
        for v in a.ravel().tolist():
            total += v
        print(key, a.dtype.str, "x".join(map(str, a.shape)), repr(total), repr(a.ravel()[0].item()), repr(a.ravel()[-1].item()))
)");
    const char* python = "/usr/bin/python3";
    const std::string install = "this test needs Debian's python3-numpy: apt-get install -y python3-numpy";
    if (!fs::exists(python)) FAIL(python << " is missing; " << install);
    const auto result = layerwise::testing::run_command(std::string(python) + " '" + script.string() + "' '" +
                                                        file.string() + "' 2>&1");
    const int status = result.status;  // not a structured binding: clang 14 cannot capture one (INFO does)
    const std::string& output = result.output;
    INFO("python said:\n" << output);
    if (status == 3) FAIL("numpy is not importable by " << python << "; " << install);
    REQUIRE(status == 0);

    // What C++ wrote, summed the same way.
    struct Expected {
        std::string dtype_shape;  // "<f4 784x128"
        double total, first, last;
    };
    std::map<std::string, Expected> expected;
    for_each_parameter(*net, [&](const ParameterInfo& p, auto& value, auto&) {
        double total = 0;
        for (float v : value) total += v;
        std::string shape = std::to_string(value.shape(0));
        if (value.dimension() == 2) shape += "x" + std::to_string(value.shape(1));
        expected[std::string(p.name)] = {"<f4 " + shape, total, value.data()[0], value.data()[value.size() - 1]};
    });

    std::set<std::string> keys;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        CAPTURE(line);
        std::istringstream fields(line);
        std::string key, dtype, shape;
        fields >> key >> dtype >> shape;
        keys.insert(key);
        if (key == "__signature__") {
            CHECK(line == "__signature__ |u1 1 layerwise network: " + net_parameters + " float32 parameters in 7 layers");
            continue;
        }
        REQUIRE(expected.count(key) == 1);
        const Expected& e = expected[key];
        CHECK(dtype + " " + shape == e.dtype_shape);
        std::string total, first, last;
        fields >> total >> first >> last;
        // repr() prints the shortest text that reads back as the same double: compare exactly.
        CHECK(std::strtod(total.c_str(), nullptr) == e.total);
        CHECK(std::strtod(first.c_str(), nullptr) == e.first);
        CHECK(std::strtod(last.c_str(), nullptr) == e.last);
    }
    std::set<std::string> expected_keys{"__signature__"};
    for (const auto& [name, unused] : expected) expected_keys.insert(name);
    CHECK(keys == expected_keys);
    CHECK(keys.count("batch_normalization_1/moving_mean") == 1);
}

TEST_CASE("bytes from a file reach messages escaped and cut: no control characters, no megabyte lines") {
    CHECK(layerwise::io::printable_bytes(std::string("<f4\x93NUMPY\n", 10)) == "<f4\\x93NUMPY\\x0a");
    CHECK(layerwise::io::printable_bytes(std::string(100, 'a')) == std::string(60, 'a') + "...");
    CHECK(layerwise::io::printable_bytes("a\\b") == "a\\x5cb");  // a backslash cannot fake an escape
}
