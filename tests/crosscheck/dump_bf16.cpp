// dump_bf16 — a test helper for scripts/torch_crosscheck_bf16.py: a small float network and its
// two bfloat16 forms, to_bf16 (weights rounded) and to_bf16_dot (each Dense's inputs rounded
// too), on one batch, written to one .npz (every member float32 unless said otherwise):
//
//   config                (n,) uint8     UTF-8 "bf16_dot_kernel=<the kernel that ran>"
//   x                     (13, 20)       the inputs: 13 rows, a pass of 8 and one of 5
//   dense_<k>/kernel      (In, Out)      the float network's W of its k-th Dense (k = 0, 1, 2)
//   dense_<k>/bias        (Out,)         its b
//   bf16/dense_<k>        (In, Out)      W as the Bf16Dense keeps it (weight(i, j), widened)
//   bf16_dot/dense_<k>    (In, Out)      W as the Bf16DotDense keeps it
//   y/float, y/bf16, y/bf16_dot (13, 5)  the outputs of the three networks
//
// The network is Dense<20, 33>, ReLU, Dense<33, 17>, ReLU, Dense<17, 5>: odd widths, so that
// the padded pair and the padded panel of the bf16-dot order are there. --perturb: dump.hpp.
//
//   dump_bf16 --out bf16.npz [--perturb y/bf16_dot:1e-4]
#include "dump.hpp"

#include <layerwise/compose/sequential.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/init.hpp>
#include <layerwise/layers/activation.hpp>
#include <layerwise/layers/dense.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace layerwise;

namespace {
// W of an inference Dense, widened to float, row-major.
template <class L>
std::vector<float> widened(const L& layer) {
    std::vector<float> w(L::in_features * L::out_features);
    for (std::size_t i = 0; i < L::in_features; ++i)
        for (std::size_t j = 0; j < L::out_features; ++j) w[i * L::out_features + j] = layer.weight(i, j);
    return w;
}
}  // namespace

int main(int argc, char** argv) {
    std::string out, perturb;
    CLI::App app{"Writes a small network's float, bf16 and bf16-dot outputs for scripts/torch_crosscheck_bf16.py"};
    app.add_option("--out", out, "the .npz to write")->required();
    app.add_option("--perturb", perturb, "MEMBER:REL: scale one member by 1 + REL as it is written");
    CLI11_PARSE(app, argc, argv);
    try {
        using Net = Sequential<Dense<20, 33>, ReLU, Dense<33, 17>, ReLU, Dense<17, 5>>;
        Net net;
        init(net, 7);
        auto small = to_bf16(net);
        auto dot = to_bf16_dot(net);
        constexpr std::size_t rows = 13;
        Matrix<float> x = zeros<float>(rows, 20);
        std::mt19937_64 rng(11);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (float& v : x) v = uniform(rng);

        crosscheck::Dump dump(perturb);
        const std::string config = "bf16_dot_kernel=" + std::string(name_of(bf16_dot_kernel()));
        dump.add("config", reinterpret_cast<const std::uint8_t*>(config.data()), {config.size()});
        dump.add("x", x.data(), {rows, 20});
        auto dense = [&]<std::size_t I>(const std::string& k) {
            const auto& d = net.template layer_as_declared<I>();
            using D = std::remove_cvref_t<decltype(d)>;
            dump.add("dense_" + k + "/kernel", d.W.data(), {D::in_features, D::out_features});
            dump.add("dense_" + k + "/bias", d.b.data(), {D::out_features});
            const std::vector<float> wb = widened(small.template layer_as_declared<I>());
            const std::vector<float> wd = widened(dot.template layer_as_declared<I>());
            dump.add("bf16/dense_" + k, wb.data(), {D::in_features, D::out_features});
            dump.add("bf16_dot/dense_" + k, wd.data(), {D::in_features, D::out_features});
        };
        dense.template operator()<0>("0");
        dense.template operator()<2>("1");
        dense.template operator()<4>("2");
        const Matrix<float> yf = net.forward(x, Mode::inference);
        const Matrix<float> yb = small.forward(x, Mode::inference);
        const Matrix<float> yd = dot.forward(x, Mode::inference);
        dump.add("y/float", yf.data(), {rows, 5});
        dump.add("y/bf16", yb.data(), {rows, 5});
        dump.add("y/bf16_dot", yd.data(), {rows, 5});
        dump.write(out);
    } catch (const std::exception& e) {
        std::cerr << "dump_bf16: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
