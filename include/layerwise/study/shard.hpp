// layerwise/study/shard.hpp — which slice of a study's grid this process runs, and how the
// grid is cut into slices of equal cost.
//
// A study is a grid of independent runs. On a cluster, n copies of the program are started
// at once (a Slurm job array, srun tasks, mpirun ranks) and each must run its own share
// without talking to the others. So:
//   - shard_from_environment reads the copy's number i and the count n from the variables
//     the launcher sets (no MPI library is needed for that);
//   - plan_shards assigns runs to shards from their estimated costs alone (longest first,
//     each to the least loaded shard), so every copy computes the same plan on its own, and
//     the largest shard costs close to the mean: a 40-layer run costs four 10-layer runs,
//     which slicing by k % n ignores;
//   - runs_of_shard gives one shard's runs, the costliest first, and plan_table the plan as text.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace layerwise::study {

/// Shard `index` (0-based) of `count`, and where that came from, for the log: "--shard",
/// "Slurm array (SLURM_ARRAY_TASK_ID=3, ...)", "none (the whole grid)".
struct Shard {
    std::size_t index = 0;
    std::size_t count = 1;
    std::string source = "none (the whole grid)";
};

/// "i/n" with 1 <= i <= n, as a user writes it (1-based); throws std::invalid_argument
/// naming `what` (the option) otherwise.
inline Shard parse_shard(std::string_view text, std::string_view what = "--shard") {
    auto number = [](std::string_view s, std::size_t& v) {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return !s.empty() && ec == std::errc() && end == s.data() + s.size();
    };
    const std::size_t slash = text.find('/');
    std::size_t i = 0, n = 0;
    if (slash == std::string_view::npos || !number(text.substr(0, slash), i) || !number(text.substr(slash + 1), n) ||
        i < 1 || i > n)
        throw std::invalid_argument(std::string(what) + ": '" + std::string(text) + "' is not i/n with 1 <= i <= n");
    return {i - 1, n, std::string(what) + " " + std::string(text)};
}

/// Reads an environment variable; std::nullopt when unset. Tests pass their own.
using Environment = std::function<std::optional<std::string>(const char*)>;

inline Environment process_environment() {
    return [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
}

namespace detail {

// The whole-number value of variable `name`, required to be present; throws naming it.
inline std::size_t env_number(const Environment& env, const char* name, std::string_view launcher) {
    const std::optional<std::string> v = env(name);
    if (!v) throw std::invalid_argument(std::string(launcher) + ": " + name + " is not set");
    std::size_t x = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
    if (v->empty() || ec != std::errc() || end != v->data() + v->size())
        throw std::invalid_argument(std::string(launcher) + ": " + name + "='" + *v + "' is not a whole number");
    return x;
}

// index/count from a rank and a size variable (MPI-style: 0 <= rank < size).
inline std::optional<Shard> rank_and_size(const Environment& env, const char* rank, const char* size,
                                          std::string_view launcher) {
    if (!env(rank) && !env(size)) return std::nullopt;
    const std::size_t r = env_number(env, rank, launcher), n = env_number(env, size, launcher);
    if (n == 0 || r >= n)
        throw std::invalid_argument(std::string(launcher) + ": " + rank + "=" + std::to_string(r) + " is not below " +
                                    size + "=" + std::to_string(n));
    return Shard{r, n, std::string(launcher) + " (" + rank + "=" + std::to_string(r) + ", " + size + "=" +
                           std::to_string(n) + ")"};
}

// A Slurm job array: the task's ID relative to the array's first, over the task count.
inline std::optional<Shard> slurm_array(const Environment& env) {
    constexpr std::string_view who = "Slurm array";
    if (!env("SLURM_ARRAY_TASK_ID")) return std::nullopt;
    const std::size_t id = env_number(env, "SLURM_ARRAY_TASK_ID", who);
    const std::size_t min = env_number(env, "SLURM_ARRAY_TASK_MIN", who);
    const std::size_t step = env("SLURM_ARRAY_TASK_STEP") ? env_number(env, "SLURM_ARRAY_TASK_STEP", who) : 1;
    std::size_t count = 0;
    if (env("SLURM_ARRAY_TASK_COUNT")) count = env_number(env, "SLURM_ARRAY_TASK_COUNT", who);
    else if (env("SLURM_ARRAY_TASK_MAX")) count = (env_number(env, "SLURM_ARRAY_TASK_MAX", who) - min) / std::max<std::size_t>(step, 1) + 1;
    else throw std::invalid_argument("Slurm array: neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is set");
    if (step == 0 || id < min || (id - min) % step != 0 || (id - min) / step >= count)
        throw std::invalid_argument("Slurm array: SLURM_ARRAY_TASK_ID=" + std::to_string(id) +
                                    " is not one of the " + std::to_string(count) + " tasks from " +
                                    std::to_string(min) + " in steps of " + std::to_string(step) +
                                    " (an array with gaps, such as --array=1,5,7, cannot be sharded: pass --shard)");
    const std::size_t index = (id - min) / step;
    return Shard{index, count,
                 "Slurm array (SLURM_ARRAY_TASK_ID=" + std::to_string(id) + ", " + std::to_string(count) + " tasks from " +
                     std::to_string(min) + ")"};
}

}  // namespace detail

/// The shard the launcher gave this process, or std::nullopt when none did. Launchers, in
/// order: a Slurm job array (SLURM_ARRAY_TASK_ID with _MIN and _COUNT or _MAX), Slurm tasks
/// started by srun (SLURM_PROCID / SLURM_NTASKS), Open MPI's mpirun (OMPI_COMM_WORLD_RANK /
/// _SIZE), MPICH and Hydra (PMI_RANK / PMI_SIZE). A launcher of one process is no shard.
/// Two launchers that each start several processes and disagree (srun inside an array task,
/// say) are an error: it is not clear which slice is meant, so --shard must say. Malformed or
/// out-of-range values are errors naming the variable.
inline std::optional<Shard> shard_from_environment(const Environment& env) {
    std::vector<Shard> found;
    for (std::optional<Shard> s : {detail::slurm_array(env),
                                   detail::rank_and_size(env, "SLURM_PROCID", "SLURM_NTASKS", "srun"),
                                   detail::rank_and_size(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "mpirun (Open MPI)"),
                                   detail::rank_and_size(env, "PMI_RANK", "PMI_SIZE", "MPICH/Hydra")})
        if (s && s->count > 1) found.push_back(*s);
    if (found.empty()) return std::nullopt;
    for (const Shard& s : found)
        if (s.index != found[0].index || s.count != found[0].count)
            throw std::invalid_argument("two launchers give different shards: " + found[0].source + " and " + s.source +
                                        "; pass --shard i/n to choose");
    return found[0];
}

/// The shard to run: `explicit_shard` ("i/n" from --shard) when given, which always wins;
/// else the launcher's; else the whole grid.
inline Shard choose_shard(const std::optional<std::string>& explicit_shard, const Environment& env) {
    if (explicit_shard) return parse_shard(*explicit_shard);
    if (std::optional<Shard> s = shard_from_environment(env)) return *s;
    return {};
}

/// The shard (0-based) of each item: items in decreasing cost (equal costs: in grid order),
/// each to the shard with the least cost so far (ties: the lowest shard). The greedy
/// longest-processing-time rule: the largest shard is at most 4/3 of the optimum. It depends
/// only on costs and n, so every shard computes the same plan.
inline std::vector<std::size_t> plan_shards(std::span<const double> costs, std::size_t n) {
    if (n == 0) throw std::invalid_argument("plan_shards: zero shards");
    std::vector<std::size_t> order(costs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
    std::vector<double> load(n, 0.0);
    std::vector<std::size_t> shard(costs.size());
    for (std::size_t item : order) {
        const std::size_t s = std::size_t(std::min_element(load.begin(), load.end()) - load.begin());
        shard[item] = s;
        load[s] += costs[item];
    }
    return shard;
}

/// The runs of shard `s` under `plan` (indices into it), the costliest first (equal costs: in
/// grid order), so that runs started several at a time do not end on one long run while the
/// others idle.
inline std::vector<std::size_t> runs_of_shard(std::span<const std::size_t> plan, std::span<const double> costs,
                                              std::size_t s) {
    std::vector<std::size_t> mine;
    for (std::size_t k = 0; k < plan.size(); ++k)
        if (plan[k] == s) mine.push_back(k);
    std::stable_sort(mine.begin(), mine.end(), [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
    return mine;
}

/// The plan as text, a line per shard: its cost, that cost over the mean, and its runs'
/// names in grid order:  "shard 2/8: cost 1.23e+07 (1.01 x the mean): bn-d40-s1 plain-d10-s2".
inline std::string plan_table(std::span<const std::size_t> plan, std::span<const double> costs,
                              std::span<const std::string> names, std::size_t count) {
    std::vector<double> load(count, 0.0);
    for (std::size_t k = 0; k < plan.size(); ++k) load[plan[k]] += costs[k];
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / double(count);
    std::string out;
    char line[128];
    for (std::size_t s = 0; s < count; ++s) {
        std::snprintf(line, sizeof line, "shard %zu/%zu: cost %.3g (%.2f x the mean):", s + 1, count, load[s],
                      load[s] / mean);
        out += line;
        for (std::size_t k = 0; k < plan.size(); ++k)
            if (plan[k] == s) out += " " + names[k];
        out += "\n";
    }
    return out;
}

}  // namespace layerwise::study
