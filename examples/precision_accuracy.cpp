// precision_accuracy — what bfloat16 weights cost a trained seed network on MNIST's test set:
//
//   precision_accuracy --config bn --checkpoint runs/bn-d25-s1/model.npz
//
// The networks are the seed's at depth 25, the depth of bench_infer's latency goal.
// Loads the checkpoint (train_mnist writes model.npz), freezes it, and classifies the 10,000
// test images with the float32 network and with to_bf16 of it (the same trained weights,
// rounded), printing both accuracies, the predictions that differ, and the largest difference
// of a logit relative to the largest logit.
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

using namespace layerwise;

int main(int argc, char** argv) {
    std::string config = "bn", checkpoint, data_dir;
    constexpr std::size_t depth = 25;
    CLI::App app{"Test accuracy of a trained seed network of depth 25 with float32 and with bfloat16 weights"};
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
            const std::vector<int> pf = predict(*full, x), ph = predict(*half, x);
            std::size_t right_f = 0, right_h = 0, differ = 0;
            for (std::size_t i = 0; i < pf.size(); ++i) {
                right_f += pf[i] == split.test.labels[i];
                right_h += ph[i] == split.test.labels[i];
                differ += pf[i] != ph[i];
            }
            // Logits of the first 1000 test images, both ways.
            Matrix<float> some = zeros<float>(1000, x.shape(1));
            std::copy(x.data(), x.data() + some.size(), some.data());
            const Matrix<float> lf = full->forward(some, Mode::inference);
            const Matrix<float>& lh = half->forward(some, Mode::inference);
            float largest = 0, diff = 0;
            for (std::size_t k = 0; k < lf.size(); ++k) {
                largest = std::max(largest, std::abs(lf.data()[k]));
                diff = std::max(diff, std::abs(lf.data()[k] - lh.data()[k]));
            }
            const double n = double(pf.size());
            std::printf("%s-d%zu %s: test accuracy float32 %.4f, bf16 %.4f; predictions that differ %zu of %zu; "
                        "largest logit difference %.3g of logits up to %.3g (first 1000 images)\n",
                        config.c_str(), depth, checkpoint.c_str(), double(right_f) / n, double(right_h) / n, differ,
                        pf.size(), double(diff), double(largest));
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "precision_accuracy: %s\n", e.what());
        return 2;
    }
}
