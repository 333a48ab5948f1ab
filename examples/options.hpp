// examples/options.hpp — command-line checks shared by train_mnist and gradient_study. Every
// option is checked while the command line is parsed, before any data is read or any folder
// is created, and each message names the option, the value and what is allowed, in words.
// load_dataset reads the --dataset / --data pair the programs share.
#pragma once

#include <layerwise/data/mnist.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/train/schedule.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>

namespace layerwise::seed {

/// A whole number of at least `min` (and at most `max`, if given): "must be a whole number
/// of at least 1, not '-1'", "must be a whole number from 1 to 8, not '9'".
inline CLI::Validator whole_number(long long min, long long max = std::numeric_limits<long long>::max()) {
    const bool bounded = max != std::numeric_limits<long long>::max();
    const std::string allowed =
        bounded ? "from " + std::to_string(min) + " to " + std::to_string(max) : "of at least " + std::to_string(min);
    return CLI::Validator(
        [min, max, allowed](std::string& s) -> std::string {
            long long v = 0;
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && end == s.data() + s.size() && v >= min && v <= max) return "";
            return "must be a whole number " + allowed + ", not '" + s + "'";
        },
        bounded ? std::to_string(min) + ".." + std::to_string(max) : ">= " + std::to_string(min));
}

/// A number in [0, 1), or in (0, 1) without zero_allowed: "must be a number in [0, 1), not '2'".
inline CLI::Validator fraction(bool zero_allowed = true) {
    const std::string allowed = zero_allowed ? "[0, 1)" : "(0, 1)";
    return CLI::Validator(
        [zero_allowed, allowed](std::string& s) -> std::string {
            double v = 0;
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && end == s.data() + s.size() && (zero_allowed ? v >= 0 : v > 0) && v < 1) return "";
            return "must be a number in " + allowed + ", not '" + s + "'";
        },
        allowed);
}

/// A learning-rate schedule parse_schedule reads (train/schedule.hpp); its message otherwise.
inline CLI::Validator schedule() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            try {
                (void)parse_schedule(s);
                return "";
            } catch (const std::invalid_argument& e) {
                return std::string(e.what()).substr(std::string_view("layerwise: ").size());
            }
        },
        "SCHEDULE");
}

/// One of the depths compiled into the programs.
inline CLI::Validator compiled_depth() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            try {
                std::size_t used = 0;
                const unsigned long d = std::stoul(s, &used);
                if (used == s.size()) {
                    check_depth(d, "depth");
                    return "";
                }
            } catch (const std::invalid_argument& e) {
                if (std::string(e.what()).starts_with("depth")) return e.what();
            } catch (const std::exception&) {
            }
            return "depth '" + s + "' is not a whole number (available: " + available_depths() + ")";
        },
        "DEPTH");
}

/// Checks, before anything is written, that the folder `out` can be created or used and that
/// none of `files` inside it is in the way (a directory where a result file goes). Throws
/// std::invalid_argument starting with "--out <path>:".
inline void check_output_folder(const std::filesystem::path& out, std::initializer_list<const char*> files) {
    namespace fs = std::filesystem;
    const std::string who = "--out " + out.string() + ": ";
    std::error_code ec;
    if (fs::exists(out, ec)) {
        if (!fs::is_directory(out, ec)) throw std::invalid_argument(who + "exists and is not a directory");
        for (const char* f : files)
            if (fs::exists(out / f, ec) && !fs::is_regular_file(out / f, ec))
                throw std::invalid_argument(who + (out / f).string() +
                                            " exists and is not a regular file, so the result could not be written there");
        return;
    }
    for (fs::path p = out.parent_path(); !p.empty(); p = p.parent_path()) {  // the first ancestor that exists
        if (fs::exists(p, ec)) {
            if (!fs::is_directory(p, ec))
                throw std::invalid_argument(who + "cannot be created: " + p.string() + " is not a directory");
            break;
        }
        if (p == p.parent_path()) break;
    }
}

/// The dataset named by --dataset ("mnist" or "fashion") from the folder --data, or from
/// the default folder when dir is empty (data/mnist; Debian's Fashion-MNIST).
inline data::Split load_dataset(const std::string& name, const std::string& dir) {
    if (name == "mnist") return data::load_mnist(dir.empty() ? "data/mnist" : dir);
    return dir.empty() ? data::load_fashion_mnist() : data::load_fashion_mnist(dir);
}

}  // namespace layerwise::seed
