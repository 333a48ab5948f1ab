// layerwise/study/grid.hpp — a study's axes as a user types them on a command line.
//
//   parse_numbers("10:40:5", "--depths")  -> 10, 15, 20, 25, 30, 35, 40
//   parse_numbers("1,2,3", "--seeds")     -> 1, 2, 3
//   split_names("tf2,keras2.1")           -> "tf2", "keras2.1"
//
// The grid is the product of the axes, built by the program that knows what a run is (the
// seed's study: configs x depths x seeds x settings); the shard plan (shard.hpp) cuts it.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <charconv>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace layerwise::study {

/// "first:last:step" (step 1 when omitted) or "a,b,c" as whole numbers; throws
/// std::invalid_argument naming `option` for anything else, and for an empty list.
inline std::vector<std::size_t> parse_numbers(std::string_view text, std::string_view option) {
    auto fail = [&](const std::string& why) {
        return std::invalid_argument(std::string(option) + ": cannot read '" + std::string(text) + "' (" + why + ")");
    };
    auto number = [&](std::string_view s) {
        std::size_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size())
            throw fail("use a,b,c or first:last:step with whole numbers");
        return v;
    };
    std::vector<std::string_view> parts;
    const char sep = text.find(':') != std::string_view::npos ? ':' : ',';
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(sep, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::vector<std::size_t> out;
    if (sep == ':') {
        if (parts.size() > 3) throw fail("a range is first:last or first:last:step");
        const std::size_t first = number(parts[0]), last = number(parts[1]), step = parts.size() == 3 ? number(parts[2]) : 1;
        if (step == 0) throw fail("the step must be at least 1");
        if (first > last) throw fail("first is greater than last");
        for (std::size_t v = first; v <= last; v += step) out.push_back(v);
    } else {
        for (std::string_view p : parts) out.push_back(number(p));
    }
    return out;
}

/// "a,b" -> {"a", "b"}; "" -> {""} (one value: the default).
inline std::vector<std::string> split_names(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(',', start);
        out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return out;
}

}  // namespace layerwise::study
