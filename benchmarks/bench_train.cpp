// bench_train — end-to-end training throughput of the seed's networks on MNIST-shaped
// data (uniform pixels, random labels: the speed does not depend on the values).
//
//   bench_train --config bn --depth 25 --batch 128 --steps 300 --threads 1
//   bench_train ... --gemm-only      only the GEMMs of the same steps: the BLAS ceiling
//   bench_train ... --unfused        unfused_t<Net>: BatchNorm and ReLU as two layers, two passes each way
// Prints what it measured, the BLAS kernel and threads, and last `samples_per_s=<number>`.
#include <layerwise/models/seed_select.hpp>
#include <layerwise/blas_runtime.hpp>
#include <layerwise/compose/unfused.hpp>
#include <layerwise/init.hpp>
#include <layerwise/loss/softmax_cross_entropy.hpp>
#include <layerwise/optim/rmsprop.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <sys/resource.h>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <vector>

using namespace layerwise;

// Peak resident memory of this process so far, in bytes.
std::size_t peak_rss() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::size_t>(u.ru_maxrss) * 1024;
}

// What training needs at the least, in bytes: parameters, their gradients, RMSprop's one
// slot per trainable parameter, and one activation (B x width) per layer for backward.
template <class Net>
std::size_t needed_bytes(Net& net, std::size_t batch) {
    std::size_t floats = 0;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        floats += value.size() * (p.trainable ? 3 : 1);
    });
    for_each_layer(net, [&](auto&, const LayerInfo& li) { floats += batch * li.out_width; });
    return floats * sizeof(float);
}

struct Measured {
    double seconds = 0;
    std::size_t needed = 0, rss_before = 0, rss_after = 0;
};

struct Options {
    std::string config = "bn";
    std::size_t depth = 25, batch = 128, steps = 300, warmup = 20;
    int threads = 1;
    bool blas_threading = false;
    bool gemm_only = false;
    bool unfused = false;
};

// The GEMMs of one step of the seed MLP: forward x W, backward x^T dy and dy W^T per layer.
double gemm_only(const Options& o, std::size_t dense_layers) {
    const std::size_t B = o.batch;
    std::vector<std::size_t> in(dense_layers, 128), out(dense_layers, 128);
    in.front() = 784;
    out.back() = 10;
    std::vector<Matrix<float>> x, w, y, dw, dx;
    for (std::size_t l = 0; l < dense_layers; ++l) {
        x.push_back(zeros<float>(B, in[l]));
        w.push_back(zeros<float>(in[l], out[l]));
        y.push_back(zeros<float>(B, out[l]));
        dw.push_back(zeros<float>(in[l], out[l]));
        dx.push_back(zeros<float>(B, in[l]));
    }
    auto step = [&] {
        for (std::size_t l = 0; l < dense_layers; ++l) gemm(x[l], false, w[l], false, y[l]);
        for (std::size_t l = dense_layers; l-- > 0;) {
            gemm(x[l], true, y[l], false, dw[l]);
            if (l > 0) gemm(y[l], false, w[l], true, dx[l]);  // the first layer needs no dx
        }
    };
    for (std::size_t s = 0; s < o.warmup; ++s) step();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t s = 0; s < o.steps; ++s) step();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class Net>
Measured train(const Options& o) {
    Measured m;
    m.rss_before = peak_rss();
    auto net = std::make_unique<Net>();
    m.needed = needed_bytes(*net, o.batch);
    init(*net, 1, seed::default_kernel_init(seed::parse_config(o.config)));  // LeCun-normal for selu
    RMSprop<float> opt;
    SoftmaxCrossEntropy<float> loss;
    std::mt19937_64 rng(2);
    Matrix<float> x = zeros<float>(o.batch, 784);
    for (auto& v : x) v = static_cast<float>(uniform01(rng));
    std::vector<int> y(o.batch);
    for (auto& l : y) l = static_cast<int>(rng() % 10);
    auto step = [&] {
        loss.forward(net->forward(x, Mode::train), y);
        backward_parameters(*net, loss.backward());  // training: no dx for the data
        opt.step(*net);
    };
    for (std::size_t s = 0; s < o.warmup; ++s) step();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t s = 0; s < o.steps; ++s) step();
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.rss_after = peak_rss();
    return m;
}

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);
    Options o;
    CLI::App app{"Training throughput of the seed's MLPs (layerwise)"};
    app.add_option("--config", o.config, "bn, plain, skip, selu, layernorm or rezero")
        ->check(CLI::IsMember({"bn", "plain", "skip", "selu", "layernorm", "rezero"}));
    app.add_option("--depth", o.depth, "the seed's depth (" + seed::available_depths() + ")");
    app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber);
    app.add_option("--steps", o.steps, "timed steps")->check(CLI::PositiveNumber);
    app.add_option("--warmup", o.warmup, "untimed steps first");
    app.add_option("--threads", o.threads, "threads: layerwise's own (GEMM row bands), BLAS single-threaded")
        ->check(CLI::Range(1, 64));
    app.add_flag("--blas-threading", o.blas_threading, "use the threads inside OpenBLAS instead of layerwise's");
    app.add_flag("--gemm-only", o.gemm_only, "time only the GEMMs of the same steps (the BLAS ceiling)");
    app.add_flag("--unfused", o.unfused, "train unfused_t<Net>: BatchNorm and the ReLU after it as separate layers");
    CLI11_PARSE(app, argc, argv);
    try {
        if (o.blas_threading) set_blas_threads(o.threads);
        else set_threads(static_cast<std::size_t>(o.threads));
        double seconds = 0;
        Measured m;
        const seed::Config config = seed::parse_config(o.config);
        if (o.gemm_only) {
            std::size_t dense = 0;  // Dense layers of the network: count them from the type
            seed::with_seed_network(config, o.depth, [&]<class Net>() {
                auto net = std::make_unique<Net>();
                for_each_layer(*net, [&](auto&, const LayerInfo& li) { dense += li.type == "dense"; });
            });
            seconds = gemm_only(o, dense);
        } else {
            seed::with_seed_network(config, o.depth, [&]<class Net>() {
                m = o.unfused ? train<unfused_t<Net>>(o) : train<Net>(o);
            });
            seconds = m.seconds;
            std::printf("memory: needed_mb=%.1f peak_rss_growth_mb=%.1f peak_rss_mb=%.1f ratio=%.2f\n",
                        double(m.needed) / 1e6, double(m.rss_after - m.rss_before) / 1e6, double(m.rss_after) / 1e6,
                        double(m.rss_after - m.rss_before) / double(m.needed));
        }
        const double sps = double(o.steps * o.batch) / seconds;
        std::printf("layerwise %s: config=%s depth=%zu batch=%zu steps=%zu threads=%d layerwise_threads=%zu blas_core=%s blas_threads=%d "
                    "seconds=%.3f\n",
                    o.gemm_only ? "gemm-only" : o.unfused ? "train-unfused" : "train", o.config.c_str(), o.depth, o.batch, o.steps, o.threads,
                    threads(), blas_core().c_str(), blas_threads(), seconds);
        std::printf("samples_per_s=%.1f\n", sps);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_train: %s\n", e.what());
        return 2;
    }
    return 0;
}
