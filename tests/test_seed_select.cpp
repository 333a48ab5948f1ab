#include "testing.hpp"

#include <layerwise/models/seed_select.hpp>

using namespace layerwise;

TEST_CASE("with_seed_network calls f with the network type of a config and depth given at run time") {
    std::size_t params = 0;
    seed::with_seed_network(seed::Config::skip, 20, [&]<class Net>() {
        CHECK(std::is_same_v<Net, seed::Network<seed::Config::skip, 20>>);
        params = Net::parameter_count;
    });
    CHECK(params == seed::Network<seed::Config::skip, 20>::parameter_count);
    CHECK(seed::parse_config("plain") == seed::Config::plain);
}

TEST_CASE("with_config calls f with the config given at run time, for every config") {
    for (std::size_t c = 0; c < std::size(seed::config_names); ++c) {
        const auto config = static_cast<seed::Config>(c);
        int calls = 0;
        seed::with_config(config, [&]<seed::Config C>() {
            CHECK(C == config);
            ++calls;
        });
        CHECK(calls == 1);
    }
}

TEST_CASE("a depth that is not compiled in, or an unknown config, is an error that lists what is") {
    CHECK_THROWS_WITH_AS(seed::with_seed_network(seed::Config::bn, 12, []<class>() {}),
                         "depth 12 is not compiled in (available: 10, 15, 20, 25, 30, 35, 40, 45, 50)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(seed::parse_config("bm"), "unknown config 'bm' (expected bn, plain, skip, selu, layernorm or rezero)", std::invalid_argument);
}
