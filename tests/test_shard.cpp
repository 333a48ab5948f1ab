#include "testing.hpp"

#include <layerwise/models/seed_mlp.hpp>
#include <layerwise/study/shard.hpp>
#include <layerwise/summary.hpp>

#include <map>
#include <memory>
#include <numeric>
#include <set>

using namespace layerwise;
using study::Environment;
using study::Shard;

namespace {
Environment env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

void check_shard(const std::optional<Shard>& s, std::size_t index, std::size_t count, std::string_view source) {
    REQUIRE(s.has_value());
    CHECK(s->index == index);
    CHECK(s->count == count);
    CHECK(s->source.starts_with(source));
}

// Trainable parameters of the seed's network, the cost unit of the plan.
template <seed::Config C, std::size_t D>
double trainable() {
    auto net = std::make_unique<seed::Network<C, D>>();
    return double(count_parameters(*net).trainable);
}

// The seed's grid: bn, plain, skip x depths 10..40 step 5, costs trainable parameters x epochs.
std::vector<double> seed_grid_costs(std::size_t seeds) {
    std::vector<double> one;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((one.push_back(trainable<seed::Config::bn, 10 + 5 * I>())), ...);
        ((one.push_back(trainable<seed::Config::plain, 10 + 5 * I>())), ...);
        ((one.push_back(trainable<seed::Config::skip, 10 + 5 * I>())), ...);
    }(std::make_index_sequence<7>{});
    std::vector<double> costs;
    for (std::size_t s = 0; s < seeds; ++s)
        for (double c : one) costs.push_back(c * 20);  // 20 epochs
    return costs;
}
}  // namespace

TEST_CASE("--shard i/n is 1-based for people and 0-based inside; anything else names the option") {
    const Shard s = study::parse_shard("2/8");
    CHECK(s.index == 1);
    CHECK(s.count == 8);
    for (const char* bad : {"0/4", "5/4", "2", "2/", "/4", "a/4", "2/4x", "-1/4", ""})
        CHECK_THROWS_WITH_AS(study::parse_shard(bad), doctest::Contains(("--shard: '" + std::string(bad) + "' is not i/n").c_str()),
                             std::invalid_argument);
}

TEST_CASE("each launcher's variables give the shard, and the source says which") {
    CHECK_FALSE(study::shard_from_environment(env_of({})).has_value());
    check_shard(study::shard_from_environment(env_of(
                    {{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
                2, 4, "Slurm array");
    check_shard(study::shard_from_environment(env_of(
                    {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}})),
                3, 4, "Slurm array");
    check_shard(study::shard_from_environment(env_of({{"SLURM_ARRAY_TASK_ID", "4"},
                                                      {"SLURM_ARRAY_TASK_MIN", "0"},
                                                      {"SLURM_ARRAY_TASK_MAX", "6"},
                                                      {"SLURM_ARRAY_TASK_STEP", "2"}})),
                2, 4, "Slurm array");
    check_shard(study::shard_from_environment(env_of({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "3"}})), 1, 3, "srun");
    check_shard(study::shard_from_environment(env_of({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "3"}})), 2,
                3, "mpirun (Open MPI)");
    check_shard(study::shard_from_environment(env_of({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}})), 0, 2, "MPICH/Hydra");
}

TEST_CASE("a launcher of one process is no shard; an array task's own srun step does not conflict") {
    CHECK_FALSE(study::shard_from_environment(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})).has_value());
    check_shard(study::shard_from_environment(env_of({{"SLURM_ARRAY_TASK_ID", "1"},
                                                      {"SLURM_ARRAY_TASK_MIN", "0"},
                                                      {"SLURM_ARRAY_TASK_COUNT", "2"},
                                                      {"SLURM_PROCID", "0"},
                                                      {"SLURM_NTASKS", "1"}})),
                1, 2, "Slurm array");
    // srun starting MPI ranks sets both, consistently: that is one shard
    check_shard(study::shard_from_environment(env_of({{"SLURM_PROCID", "1"},
                                                      {"SLURM_NTASKS", "2"},
                                                      {"PMI_RANK", "1"},
                                                      {"PMI_SIZE", "2"}})),
                1, 2, "srun");
}

TEST_CASE("inconsistent or malformed launcher variables are errors naming the variable") {
    auto fails = [](std::map<std::string, std::string> vars, const std::string& message) {
        CHECK_THROWS_WITH_AS(study::shard_from_environment(env_of(std::move(vars))), doctest::Contains(message.c_str()),
                             std::invalid_argument);
    };
    fails({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "3"}}, "SLURM_PROCID=3 is not below SLURM_NTASKS=3");
    fails({{"SLURM_PROCID", "1"}}, "srun: SLURM_NTASKS is not set");
    fails({{"OMPI_COMM_WORLD_RANK", "x"}, {"OMPI_COMM_WORLD_SIZE", "2"}}, "OMPI_COMM_WORLD_RANK='x' is not a whole number");
    fails({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, "SLURM_ARRAY_TASK_MIN is not set");
    fails({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "0"}}, "neither SLURM_ARRAY_TASK_COUNT nor");
    fails({{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_COUNT", "4"}},
          "cannot be sharded: pass --shard");
    fails({{"SLURM_ARRAY_TASK_ID", "1"},
           {"SLURM_ARRAY_TASK_MIN", "0"},
           {"SLURM_ARRAY_TASK_COUNT", "2"},
           {"OMPI_COMM_WORLD_RANK", "0"},
           {"OMPI_COMM_WORLD_SIZE", "3"}},
          "two launchers give different shards");
}

TEST_CASE("an explicit --shard always wins over the launcher") {
    const Environment env = env_of({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "3"}});
    const Shard s = study::choose_shard(std::string("1/2"), env);
    CHECK(s.index == 0);
    CHECK(s.count == 2);
    CHECK(s.source == "--shard 1/2");
    CHECK(study::choose_shard(std::nullopt, env).index == 2);
    CHECK(study::choose_shard(std::nullopt, env_of({})).count == 1);
}

TEST_CASE("the shard plan covers the grid once, depends only on the costs, and balances the seed's grid") {
    for (std::size_t seeds : {std::size_t{1}, std::size_t{3}}) {
        const std::vector<double> costs = seed_grid_costs(seeds);
        const double total = std::accumulate(costs.begin(), costs.end(), 0.0);
        const double largest_run = *std::max_element(costs.begin(), costs.end());
        for (std::size_t n : {std::size_t{2}, std::size_t{4}, std::size_t{8}}) {
            CAPTURE(seeds);
            CAPTURE(n);
            const std::vector<std::size_t> plan = study::plan_shards(costs, n);
            CHECK(plan == study::plan_shards(costs, n));  // every shard computes the same plan
            REQUIRE(plan.size() == costs.size());         // each run in exactly one shard: disjoint, and the union is the grid
            std::vector<double> load(n, 0.0);
            for (std::size_t k = 0; k < plan.size(); ++k) {
                REQUIRE(plan[k] < n);
                load[plan[k]] += costs[k];
            }
            const double mean = total / double(n), worst = *std::max_element(load.begin(), load.end());
            MESSAGE("seeds " << seeds << ", " << n << " shards: largest shard " << worst / mean << " x the mean");
            if (largest_run <= 1.15 * mean) CHECK(worst <= 1.15 * mean);
            else CHECK(worst == largest_run);  // the grid does not allow it: one run alone exceeds the bound
        }
    }
}

TEST_CASE("the plan balances a grid that slicing by k % n (what --shard did before) does not") {
    // three configs, each at four depths in increasing order: k % 4 gives one shard every
    // shallowest run and another every deepest
    const std::vector<double> costs = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4};
    const double mean = 30.0 / 4;
    std::vector<double> modulo(4, 0.0), planned(4, 0.0);
    const std::vector<std::size_t> plan = study::plan_shards(costs, 4);
    for (std::size_t k = 0; k < costs.size(); ++k) {
        modulo[k % 4] += costs[k];
        planned[plan[k]] += costs[k];
    }
    CHECK(*std::max_element(modulo.begin(), modulo.end()) == 12);  // 1.6 x the mean
    CHECK(*std::max_element(planned.begin(), planned.end()) == 8);  // 1.07 x the mean, and 8 is optimal
    CHECK(*std::max_element(planned.begin(), planned.end()) <= 1.15 * mean);
}

TEST_CASE("a shard's runs come costliest first (ties in grid order), and the plan prints as one line per shard") {
    const std::vector<double> costs = {1, 4, 2, 4, 3};
    const std::vector<std::size_t> plan = study::plan_shards(costs, 2);  // 4, 4 -> 0, 1; 3 -> 0; 2 -> 1; 1 -> 0 or 1
    CHECK(plan == std::vector<std::size_t>{1, 0, 1, 1, 0});
    CHECK(study::runs_of_shard(plan, costs, 0) == std::vector<std::size_t>{1, 4});
    CHECK(study::runs_of_shard(plan, costs, 1) == std::vector<std::size_t>{3, 2, 0});
    const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
    CHECK(study::plan_table(plan, costs, names, 2) ==
          "shard 1/2: cost 7 (1.00 x the mean): b e\n"
          "shard 2/2: cost 7 (1.00 x the mean): a c d\n");
    CHECK(study::plan_table(study::plan_shards(costs, 3), costs, names, 3) ==
          "shard 1/3: cost 5 (1.07 x the mean): a b\n"
          "shard 2/3: cost 4 (0.86 x the mean): d\n"
          "shard 3/3: cost 5 (1.07 x the mean): c e\n");
}
