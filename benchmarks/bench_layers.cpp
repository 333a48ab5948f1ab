// bench_layers — forward and backward of each layer at the study's sizes, the loss and an
// optimizer step, with Google Benchmark. Measures only; asserts nothing.
//   bench_layers --benchmark_filter=BatchNorm
#include <benchmark/benchmark.h>

#include <layerwise/blas_runtime.hpp>
#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <memory>
#include <random>

using namespace layerwise;

namespace {
Matrix<float> random(std::size_t rows, std::size_t cols) {
    std::mt19937_64 rng(1);
    Matrix<float> m = zeros<float>(rows, cols);
    for (auto& v : m) v = static_cast<float>(uniform01(rng) * 2 - 1);
    return m;
}

// Times forward (and backward when Backward) of Layer on a (batch x In) input.
template <class Layer, std::size_t In, std::size_t Out, bool Backward>
void layer(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    auto l = std::make_unique<Layer>();
    init(*l, 1);
    const Matrix<float> x = random(batch, In), dy = random(batch, Out);
    l->forward(x, Mode::train);
    for (auto _ : state) {
        benchmark::DoNotOptimize(l->forward(x, Mode::train).data());
        if constexpr (Backward) benchmark::DoNotOptimize(l->backward(dy).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

void loss(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    SoftmaxCrossEntropy<float> l;
    const Matrix<float> z = random(batch, 10);
    const std::vector<int> y(batch, 3);
    for (auto _ : state) benchmark::DoNotOptimize(l.forward(z, y));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

template <class Optimizer>
void optimizer_step(benchmark::State& state) {
    auto net = std::make_unique<seed::BnMlp<25>>();
    init(*net, 1);
    Optimizer opt;
    for (auto _ : state) opt.step(*net);
}
}  // namespace

#define LAYER(name, Layer, In, Out) \
    BENCHMARK(layer<Layer, In, Out, false>)->Name(name "/forward")->Arg(128)->Arg(512); \
    BENCHMARK(layer<Layer, In, Out, true>)->Name(name "/forward+backward")->Arg(128)->Arg(512)

using DenseIn = Dense<784, 128>;
using DenseHidden = Dense<128, 128>;
using Bn = BatchNorm<128>;
using Skip = Residual<Dense<128, 128>, BatchNorm<128>>;
LAYER("Dense<784,128>", DenseIn, 784, 128);
LAYER("Dense<128,128>", DenseHidden, 128, 128);
LAYER("BatchNorm<128>", Bn, 128, 128);
LAYER("ReLU(128)", ReLU, 128, 128);
LAYER("Residual<Dense,BN>(128)", Skip, 128, 128);
BENCHMARK(loss)->Name("SoftmaxCrossEntropy(10)")->Arg(128)->Arg(512);
BENCHMARK(optimizer_step<RMSprop<float>>)->Name("RMSprop step (seed 25-layer, 487k trainable)");
BENCHMARK(optimizer_step<Adam<float>>)->Name("Adam step (seed 25-layer, 487k trainable)");

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);
    set_blas_threads(1);
    benchmark::AddCustomContext("blas_core", blas_core());
    benchmark::AddCustomContext("blas_threads", std::to_string(blas_threads()));
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
