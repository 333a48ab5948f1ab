#include "testing.hpp"

#include <layerwise/study/grid.hpp>

using namespace layerwise;

TEST_CASE("axes as a user types them: a,b,c or first:last[:step]") {
    using V = std::vector<std::size_t>;
    CHECK(study::parse_numbers("10:40:5", "--depths") == V{10, 15, 20, 25, 30, 35, 40});
    CHECK(study::parse_numbers("1:3", "--seeds") == V{1, 2, 3});
    CHECK(study::parse_numbers("10:12:5", "--depths") == V{10});
    CHECK(study::parse_numbers("25,10", "--depths") == V{25, 10});
    CHECK(study::parse_numbers("7", "--seeds") == V{7});
    CHECK(study::split_names("tf2,keras2.1") == std::vector<std::string>{"tf2", "keras2.1"});
    CHECK(study::split_names("") == std::vector<std::string>{""});
}

TEST_CASE("anything else is an error that names the option and the text") {
    for (const char* bad : {"", "a", "1,,2", "1,2,", "10:", ":40", "10:40:0", "40:10", "1:2:3:4", "-1", "1.5", "10:40:x"})
        CHECK_THROWS_WITH_AS(study::parse_numbers(bad, "--depths"),
                             doctest::Contains(("--depths: cannot read '" + std::string(bad) + "'").c_str()),
                             std::invalid_argument);
}
