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
