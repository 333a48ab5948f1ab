// deploy/embedded.hpp: load_embedded copies a table of parameters into the network it was made
// from, and refuses, changing nothing, a table of another network.
#include "testing.hpp"

#include <layerwise/deploy/embedded.hpp>
#include <layerwise/layerwise.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace layerwise;

namespace {

// A table over net's own parameters, as layerwise-embed writes one from its checkpoint.
template <class Net>
struct Table {
    std::vector<std::string> names;
    std::vector<std::vector<float>> values;
    std::vector<deploy::EmbeddedParameter<float>> entries;
    explicit Table(Net& net) {
        for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
            names.emplace_back(p.name);
            values.emplace_back(value.data(), value.data() + value.size());
        });
        for (std::size_t k = 0; k < names.size(); ++k) entries.push_back({names[k], values[k].data(), values[k].size()});
    }
};

template <class Net>
std::vector<float> flat(Net& net) {
    std::vector<float> all;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
        all.insert(all.end(), value.data(), value.data() + value.size());
    });
    return all;
}

}  // namespace

TEST_CASE("load_embedded fills the network the table was made from") {
    using Net = Sequential<Dense<4, 8>, BatchNorm<8>, ReLU, Residual<Dense<8, 8>>, Dense<8, 3>>;
    Net a, b;
    init(a, 1);
    init(b, 2);
    a.layer_as_declared<1>().moving_variance.fill(2.5f);
    Table<Net> table(a);
    CHECK(flat(a) != flat(b));
    CHECK(deploy::load_embedded(b, std::span<const deploy::EmbeddedParameter<float>>(table.entries)));
    CHECK(flat(a) == flat(b));
}

TEST_CASE("load_embedded refuses another network's table and changes nothing") {
    Sequential<Dense<4, 8>, ReLU, Dense<8, 3>> source;
    Table<decltype(source)> table(source);
    const std::span<const deploy::EmbeddedParameter<float>> entries(table.entries);

    Sequential<Dense<4, 8>, BatchNorm<8>, ReLU, Dense<8, 3>> more;  // names differ after dense/bias
    const std::vector<float> before = flat(more);
    CHECK_FALSE(deploy::load_embedded(more, entries));
    CHECK(flat(more) == before);

    Sequential<Dense<4, 6>, ReLU, Dense<6, 3>> narrower;  // the same names, other sizes
    CHECK_FALSE(deploy::load_embedded(narrower, entries));

    Sequential<Dense<4, 8>, ReLU, Dense<8, 3>, ReLU, Dense<3, 3>> longer;  // a prefix matches
    CHECK_FALSE(deploy::load_embedded(longer, entries));
}
