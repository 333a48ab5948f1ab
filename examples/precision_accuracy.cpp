// precision_accuracy — what bfloat16 costs a trained seed network on MNIST's test set:
//
//   precision_accuracy --config bn --checkpoint runs/bn-d25-s1/model.npz
//
// The networks are the seed's at depth 25, the depth of bench_infer's latency goal.
// Loads the checkpoint (train_mnist writes model.npz), freezes it, and classifies the 10,000
// test images with the float32 network, with to_bf16 of it (the same trained weights, rounded)
// and with to_bf16_dot of it (each Dense's inputs rounded too), printing each accuracy, the
// predictions that differ from float32's, and the largest difference of a logit relative to
// the largest logit.
#include "options.hpp"

#include <layerwise/deploy/freeze.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/io/npz.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/predict.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace layerwise;

int main(int argc, char** argv) {
    std::string config = "bn", checkpoint, data_dir;
    constexpr std::size_t depth = 25;
    CLI::App app{"Test accuracy of a trained seed network of depth 25 in float32 and in bfloat16"};
    app.add_option("--config", config, "the network: bn, plain, skip, selu, layernorm or rezero")
        ->check(CLI::IsMember({"bn", "plain", "skip", "selu", "layernorm", "rezero"}));
    app.add_option("--checkpoint", checkpoint, "its trained parameters (train_mnist's model.npz)")->required();
    app.add_option("--data", data_dir, "the MNIST folder (default data/mnist)");
    CLI11_PARSE(app, argc, argv);
    try {
        const data::Split split = seed::load_dataset("mnist", data_dir);
        const Matrix<float>& x = split.test.images;
        seed::with_config(seed::parse_config(config), [&]<seed::Config C>() {
            using Net = seed::Network<C, depth>;
            auto net = std::make_unique<Net>();
            io::load_npz(*net, checkpoint);
            auto full = std::make_unique<frozen_t<Net>>(freeze(*net));
            auto half = std::make_unique<bf16_t<frozen_t<Net>>>(to_bf16(*full));
            auto dot = std::make_unique<bf16_dot_t<frozen_t<Net>>>(to_bf16_dot(*full));
            const std::vector<int> pf = predict(*full, x);
            // Logits of the first 1000 test images, the float network's and another's.
            Matrix<float> some = zeros<float>(1000, x.shape(1));
            std::copy(x.data(), x.data() + some.size(), some.data());
            const Matrix<float> lf = full->forward(some, Mode::inference);
            std::printf("%s-d%zu %s:\n", config.c_str(), depth, checkpoint.c_str());
            const double n = double(pf.size());
            std::size_t right_f = 0;
            for (std::size_t i = 0; i < pf.size(); ++i) right_f += pf[i] == split.test.labels[i];
            std::printf("  float32: test accuracy %.4f\n", double(right_f) / n);
            auto compare = [&](const char* name, auto& other) {
                const std::vector<int> po = predict(other, x);
                std::size_t right = 0, differ = 0;
                for (std::size_t i = 0; i < pf.size(); ++i) {
                    right += po[i] == split.test.labels[i];
                    differ += pf[i] != po[i];
                }
                const Matrix<float>& lo = other.forward(some, Mode::inference);
                float largest = 0, diff = 0;
                for (std::size_t k = 0; k < lf.size(); ++k) {
                    largest = std::max(largest, std::abs(lf.data()[k]));
                    diff = std::max(diff, std::abs(lf.data()[k] - lo.data()[k]));
                }
                std::printf("  %s: test accuracy %.4f; predictions that differ from float32's %zu of %zu; "
                            "largest logit difference %.3g of logits up to %.3g (first 1000 images)\n",
                            name, double(right) / n, differ, pf.size(), double(diff), double(largest));
            };
            compare("bf16 (to_bf16: weights)", *half);
            const std::string dot_name =
                "bf16-dot (to_bf16_dot: weights and inputs, " + std::string(name_of(bf16_dot_kernel())) + " kernel)";
            compare(dot_name.c_str(), *dot);
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "precision_accuracy: %s\n", e.what());
        return 2;
    }
}
