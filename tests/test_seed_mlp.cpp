#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <memory>

using namespace layerwise;
using namespace layerwise::seed;

TEST_CASE("parameter counts of the seed's networks, as Keras counts them") {
    static_assert(BnMlp<10>::parameter_count == 238474);
    static_assert(BnMlp<25>::parameter_count == 493834);
    static_assert(BnMlp<40>::parameter_count == 749194);
    static_assert(SkipMlp<25>::parameter_count == 510858);
    static_assert(PlainMlp<10>::parameter_count == 100480 + 8 * 16512 + 1290);
    auto d10 = std::make_unique<BnMlp<10>>();
    auto d25 = std::make_unique<BnMlp<25>>();
    auto d40 = std::make_unique<BnMlp<40>>();
    CHECK(count_parameters(*d10).total == 238474);
    CHECK(count_parameters(*d10).trainable == 236170);
    CHECK(count_parameters(*d25).trainable == 487690);
    CHECK(count_parameters(*d40).total == 749194);
}

TEST_CASE("the seed's depth N has N - 1 hidden layers plus the output layer") {
    auto count_dense = [](auto& net) {
        std::size_t n = 0;
        for_each_layer(net, [&](auto&, const LayerInfo& li) { n += li.type == "dense"; });
        return n;
    };
    auto bn = std::make_unique<BnMlp<15>>();
    auto plain = std::make_unique<PlainMlp<15>>();
    auto skip15 = std::make_unique<SkipMlp<15>>();  // 1 + 2 * 7 hidden, then the output
    auto skip20 = std::make_unique<SkipMlp<20>>();  // 1 + 2 * 9 hidden: the seed floors (N - 1) / 2
    CHECK(count_dense(*bn) == 15);
    CHECK(count_dense(*plain) == 15);
    CHECK(count_dense(*skip15) == 1 + 14 + 1);
    CHECK(count_dense(*skip20) == 1 + 18 + 1);
}

TEST_CASE("Network<Config, Depth> names the three configurations") {
    static_assert(std::is_same_v<Network<Config::bn, 10>, BnMlp<10>>);
    static_assert(std::is_same_v<Network<Config::skip, 30>, SkipMlp<30>>);
    static_assert(std::is_same_v<Network<Config::plain, 40>, PlainMlp<40>>);
    CHECK(config_names[static_cast<int>(Config::skip)] == "skip");
}

TEST_CASE("one training step of the seed's 25-layer nets runs in float and returns the input's shape") {
    auto net = std::make_unique<SkipMlp<25>>();
    init(*net, 42);
    Matrix<float> x = layerwise::testing::random_matrix<float>(32, 784, 1, 0, 1);
    const auto& y = net->forward(x, Mode::train);
    CHECK(y.shape(1) == 10);
    const auto& dx = net->backward(y);
    CHECK(dx.shape(0) == 32);
    CHECK(dx.shape(1) == 784);
}

TEST_CASE("the remedy networks: selu, layernorm and rezero have the seed's widths and depths") {
    static_assert(std::is_same_v<Network<Config::selu, 10>, SeluMlp<10>>);
    static_assert(std::is_same_v<Network<Config::layernorm, 30>, LayerNormMlp<30>>);
    static_assert(std::is_same_v<Network<Config::rezero, 50>, ReZeroMlp<50>>);
    static_assert(SeluMlp<10>::parameter_count == PlainMlp<10>::parameter_count);  // SELU has no parameters
    static_assert(LayerNormMlp<10>::parameter_count == PlainMlp<10>::parameter_count + 9 * 2 * 128);  // gamma, beta
    // rezero: skip's Dense layers (1 + 2 floor((N-1)/2) + 1), no BatchNorm, one alpha per block
    static_assert(ReZeroMlp<25>::parameter_count == 100480 + 24 * 16512 + 1290 + 12);
    auto count = [](auto& net, std::string_view type) {
        std::size_t n = 0;
        for_each_layer(net, [&](auto&, const LayerInfo& li) { n += li.type == type; });
        return n;
    };
    auto selu = std::make_unique<SeluMlp<40>>();
    auto ln = std::make_unique<LayerNormMlp<20>>();
    auto rz = std::make_unique<ReZeroMlp<50>>();
    CHECK(count(*selu, "dense") == 40);
    CHECK(count(*ln, "dense") == 20);
    CHECK(count(*ln, "layer_normalization") == 19);
    CHECK(count(*rz, "dense") == 1 + 2 * 24 + 1);
    CHECK(count(*rz, "rezero") == 24);
    CHECK(default_kernel_init(Config::selu) == KernelInit::lecun_normal);
    CHECK(default_kernel_init(Config::rezero) == KernelInit::glorot_uniform);
    CHECK(!has_batch_norm(Config::selu));
    CHECK(has_batch_norm(Config::skip));
}

TEST_CASE("a rezero network starts as the identity around each block: its output is that of the same net without the blocks") {
    auto rz = std::make_unique<ReZeroMlp<10>>();  // Dense+ReLU, 4 blocks at alpha = 0, Dense(10)
    init(*rz, 3);
    Sequential<Dense<784, 128>, ReLU, Dense<128, 10>> short_net;
    short_net.layer_as_declared<0>().W = rz->layer_as_declared<0>().W;
    short_net.layer_as_declared<0>().b = rz->layer_as_declared<0>().b;
    short_net.layer_as_declared<2>().W = rz->layer_as_declared<3>().W;
    short_net.layer_as_declared<2>().b = rz->layer_as_declared<3>().b;
    Matrix<float> x = layerwise::testing::random_matrix<float>(8, 784, 2, 0, 1);
    const Matrix<float> a = rz->forward(x, Mode::inference);
    const Matrix<float> b = short_net.forward(x, Mode::inference);
    CHECK(a == b);
}
