// Steady-state training allocates nothing: every layer keeps its workspaces, sized on the
// first batch. This program replaces the global operator new to count allocations.
#include "allocation_counter.hpp"
#include "testing.hpp"

#include <layerwise/deploy/freeze.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <memory>

using namespace layerwise;

template <class Net, class Optimizer>
std::size_t allocations_per_steps(std::size_t steps) {
    auto net = std::make_unique<Net>();
    init(*net, 1);
    Optimizer opt;
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> x = layerwise::testing::random_matrix<float>(64, 784, 3, 0, 1);
    const std::vector<int> y(64, 7);
    auto step = [&] {
        loss.forward(net->forward(x, Mode::train), y);
        backward_parameters(*net, loss.backward());  // as fit() trains
        opt.step(*net);
    };
    step();  // the first step sizes every workspace and optimizer slot
    step();
    const std::size_t before = allocation_counter::count.load();
    for (std::size_t s = 0; s < steps; ++s) step();
    return allocation_counter::count.load() - before;
}

TEST_CASE("the counter sees allocations (so the zeros below mean something)") {
    const std::size_t before = allocation_counter::count.load();
    auto p = std::make_unique<Matrix<float>>(zeros<float>(3, 3));
    CHECK(allocation_counter::count.load() > before);
}

TEST_CASE("steady-state training steps allocate nothing") {
    CHECK(allocations_per_steps<seed::BnMlp<10>, RMSprop<float>>(5) == 0);
    CHECK(allocations_per_steps<seed::SkipMlp<10>, Adam<float>>(5) == 0);
    CHECK(allocations_per_steps<seed::PlainMlp<10>, SGD<float>>(5) == 0);
}

TEST_CASE("inference steps allocate nothing either") {
    auto net = std::make_unique<seed::BnMlp<10>>();
    init(*net, 1);
    const Matrix<float> x = layerwise::testing::random_matrix<float>(32, 784, 4, 0, 1);
    net->forward(x, Mode::inference);
    const std::size_t before = allocation_counter::count.load();
    for (int s = 0; s < 5; ++s) net->forward(x, Mode::inference);
    CHECK(allocation_counter::count.load() - before == 0);
}

TEST_CASE("the deployment forms' inference steps allocate nothing: to_panels, to_bf16, to_bf16_dot") {
    auto net = std::make_unique<seed::BnMlp<10>>();
    init(*net, 1);
    auto frozen = std::make_unique<frozen_t<seed::BnMlp<10>>>(freeze(*net));
    auto check = [](auto& deployed) {
        for (std::size_t rows : {1u, 4u, 32u}) {
            CAPTURE(rows);
            const Matrix<float> x = layerwise::testing::random_matrix<float>(rows, 784, 4, 0, 1);
            deployed.forward(x, Mode::inference);
            const std::size_t before = allocation_counter::count.load();
            for (int s = 0; s < 5; ++s) deployed.forward(x, Mode::inference);
            CHECK(allocation_counter::count.load() - before == 0);
        }
    };
    auto panels = std::make_unique<panels_t<frozen_t<seed::BnMlp<10>>>>(to_panels(*frozen));
    auto small = std::make_unique<bf16_t<frozen_t<seed::BnMlp<10>>>>(to_bf16(*frozen));
    auto dot = std::make_unique<bf16_dot_t<frozen_t<seed::BnMlp<10>>>>(to_bf16_dot(*frozen));
    check(*panels);
    check(*small);
    check(*dot);
}

TEST_CASE("steady-state steps allocate nothing with two threads either") {
    set_threads(2);
    const std::size_t n = allocations_per_steps<seed::BnMlp<10>, RMSprop<float>>(5);
    set_threads(1);
    CHECK(n == 0);
}

// LayerNorm, the parameterised activations, Dropout, AlphaDropout and ReZero, each once: their
// workspaces (masks, per-row statistics, alpha dy) are sized on the first batch too. 128 wide, so
// that with two threads their element-wise passes (64 x 128) are shared.
using NewerLayers = Sequential<Dense<784, 128>, LayerNorm<128>, GELU, Dropout<>,
                               ReZero<Dense<128, 128>, SELU, AlphaDropout<>>, ELU, LeakyReLU, Dense<128, 10>>;

TEST_CASE("steady-state steps through LayerNorm, GELU, SELU, ELU, LeakyReLU, dropout and ReZero allocate nothing") {
    CHECK(allocations_per_steps<NewerLayers, RMSprop<float>>(5) == 0);
    set_threads(2);
    const std::size_t n = allocations_per_steps<NewerLayers, Adam<float>>(5);
    set_threads(1);
    CHECK(n == 0);
    auto net = std::make_unique<NewerLayers>();
    const Matrix<float> x = layerwise::testing::random_matrix<float>(32, 784, 5, 0, 1);
    net->forward(x, Mode::inference);
    const std::size_t before = allocation_counter::count.load();
    for (int s = 0; s < 5; ++s) net->forward(x, Mode::inference);
    CHECK(allocation_counter::count.load() - before == 0);
}
