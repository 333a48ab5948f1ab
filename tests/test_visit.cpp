#include "testing.hpp"

#include <layerwise/layerwise.hpp>

#include <string>
#include <vector>

using namespace layerwise;

using Net = Sequential<Dense<4, 3>, BatchNorm<3>, ReLU, Repeat<2, Dense<3, 3>, BatchNorm<3>, ReLU>,
                       Residual<Dense<3, 3>, BatchNorm<3>>, Dense<3, 2>>;

TEST_CASE("layers are walked input to output with Keras names") {
    Net net;
    std::vector<std::string> names;
    std::vector<std::size_t> widths;
    for_each_layer(net, [&](auto&, const LayerInfo& li) {
        names.emplace_back(li.name);
        widths.push_back(li.out_width);
    });
    CHECK(names == std::vector<std::string>{"dense", "batch_normalization", "activation", "dense_1",
                                            "batch_normalization_1", "activation_1", "dense_2",
                                            "batch_normalization_2", "activation_2", "dense_3",
                                            "batch_normalization_3", "add", "dense_4"});
    CHECK(widths.back() == 2);
    CHECK(widths[2] == 3);  // the ReLU after BatchNorm<3>
}

TEST_CASE("parameters carry Keras names, their layer, kind, index and trainability") {
    Net net;
    std::vector<std::string> names;
    std::vector<std::size_t> layer_index;
    std::size_t untrainable = 0;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto& grad) {
        names.emplace_back(p.name);
        layer_index.push_back(p.layer_index);
        CHECK(value.shape() == grad.shape());
        CHECK(std::string(p.name) == std::string(p.layer) + "/" + std::string(p.kind));
        if (!p.trainable) {
            ++untrainable;
            CHECK(p.kind.starts_with("moving_"));
        }
    });
    CHECK(names.front() == "dense/kernel");
    CHECK(names[1] == "dense/bias");
    CHECK(names[2] == "batch_normalization/gamma");
    CHECK(names[5] == "batch_normalization/moving_variance");
    CHECK(names.back() == "dense_4/bias");
    CHECK(untrainable == 8);
    CHECK(layer_index.back() == 8);  // dense, bn, dense_1, bn_1, dense_2, bn_2, dense_3, bn_3, dense_4
}

TEST_CASE("a visitor may take the name as a string_view") {
    Net net;
    std::size_t count = 0;
    for_each_parameter(net, [&](std::string_view name, auto&, auto&) { count += !name.empty(); });
    CHECK(count == 2 * 5 + 4 * 4);
}

TEST_CASE("the parameter walk does not allocate names per call") {
    // Names longer than the small-string buffer would allocate if built as std::string;
    // they come from a stack buffer, so the views stay the same length and content.
    Sequential<Repeat<12, Dense<2, 2>, BatchNorm<2>>> net;
    std::string last;
    for_each_parameter(net, [&](std::string_view name, auto&, auto&) { last = name; });
    CHECK(last == "batch_normalization_11/moving_variance");
}
