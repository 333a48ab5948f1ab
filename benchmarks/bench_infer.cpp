// bench_infer — latency of one inference call of the seed's networks, at small batches.
//
//   bench_infer --config bn --depth 25 --batch 1            freeze(net).forward(x, Mode::inference)
//   bench_infer ... --unfolded                              net.forward(x, Mode::inference), not frozen
//   bench_infer ... --panels                                to_panels(freeze(net)): Dense weights in the panel order
//   bench_infer ... --precision bf16                        to_bf16(freeze(net)): Dense weights in bfloat16
//   bench_infer ... --precision bf16-dot                    to_bf16_dot(freeze(net)): weights and inputs in
//                                                           bfloat16, AVX512-BF16 where the CPU has it
//                                                           (LAYERWISE_BF16_DOT=portable: the portable kernel)
//
// x is a MatrixView of the caller's memory (read in place, as predict does). Also measures
// the time to read every parameter once (a sum over them): the floor that cache bandwidth
// sets, since a call reads every weight once. The calls run in blocks; the median block
// gives the per-call time. Prints what it measured, the BLAS kernel, the bf16-dot kernel that
// ran (or none), and last us_per_call=N.
#include <layerwise/blas_runtime.hpp>
#include <layerwise/deploy/freeze.hpp>
#include <layerwise/deploy/to_inference.hpp>
#include <layerwise/init.hpp>
#include <layerwise/models/seed_select.hpp>
#include <layerwise/pack.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

using namespace layerwise;

struct Options {
    std::string config = "bn", precision = "float32";
    std::size_t depth = 25, batch = 1, calls = 20000, blocks = 11;
    bool unfolded = false, panels = false;
};

// The median over `blocks` blocks of the seconds per call of f, `calls` calls in all.
template <class F>
double median_seconds_per_call(const Options& o, F&& f) {
    const std::size_t per_block = std::max<std::size_t>(1, o.calls / o.blocks);
    for (std::size_t k = 0; k < per_block; ++k) f();  // warm the caches and the branch predictors
    std::vector<double> block(o.blocks);
    for (double& b : block) {
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t k = 0; k < per_block; ++k) f();
        b = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(per_block);
    }
    std::nth_element(block.begin(), block.begin() + long(block.size() / 2), block.end());
    return block[block.size() / 2];
}

// What one call reads: every parameter tensor of net once, an InferenceDense's W as it keeps it
// (floats, or bfloat16 as 16-bit words).
struct Tensors {
    std::vector<std::pair<const float*, std::size_t>> floats;
    std::vector<std::pair<const std::uint16_t*, std::size_t>> halves;
    std::size_t bytes() const {
        std::size_t b = 0;
        for (const auto& t : floats) b += t.second * sizeof(float);
        for (const auto& t : halves) b += t.second * sizeof(std::uint16_t);
        return b;
    }
};
template <class Net>
Tensors tensors_of(Net& net) {
    Tensors t;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) { t.floats.emplace_back(value.data(), value.size()); });
    for_each_layer(net, [&](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.weight(0, 0); }) {  // InferenceDense: no parameters visited
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(layer.W)>, std::vector<std::uint16_t>>)
                t.halves.emplace_back(layer.W.data(), layer.W.size());  // bfloat16, as 16-bit words
            else
                t.floats.emplace_back(layer.W.data(), layer.W.size());
            t.floats.emplace_back(layer.b.data(), layer.b.size());
        }
    });
    return t;
}

// The latency of net's inference forward on o.batch rows (net: frozen or not, float32 or bf16).
template <class Net>
void measure(const Options& o, Net* net) {
    std::mt19937_64 rng(2);
    std::vector<float> x(o.batch * 784);
    for (float& v : x) v = static_cast<float>(uniform01(rng));
    const MatrixView<float> view(x.data(), o.batch, 784);
    float sink = 0;
    const Tensors tensors = tensors_of(*net);

    const double call = median_seconds_per_call(o, [&] { sink += net->forward(view, Mode::inference).data()[0]; });
    // Reading every parameter once: floats summed in vector registers (pack.hpp); 16-bit words
    // two at a time, as 32-bit integers (a sum the compiler vectorises: one 16-bit word at a
    // time, the widening add ran at 40% of the float loop's bytes per second, which made bf16's
    // floor too high).
    std::uint32_t isink = 0;
    const double stream = median_seconds_per_call(o, [&] {
        for (const auto& [p, n] : tensors.floats) sink += sum_of_packs(p, n, [](auto value) { return value; });
        for (const auto& [p, n] : tensors.halves) {
            std::uint32_t s = 0;
            std::size_t k = 0;
            for (; k + 2 <= n; k += 2) {
                std::uint32_t pair;
                std::memcpy(&pair, p + k, sizeof pair);
                s += pair;
            }
            for (; k < n; ++k) s += p[k];
            isink += s;
        }
    });
    const std::string dot_kernel(o.precision == "bf16-dot" ? name_of(bf16_dot_kernel()) : "none");
    std::printf("layerwise infer: config=%s depth=%zu batch=%zu calls=%zu folded=%s precision=%s panels=%s threads=%zu blas_core=%s "
                "bf16_dot_kernel=%s weights_mb=%.2f read_all_weights_us=%.2f (sink %g %u)\n",
                o.config.c_str(), o.depth, o.batch, o.calls, o.unfolded ? "no" : "yes", o.precision.c_str(), o.panels ? "yes" : "no", threads(),
                blas_core().c_str(), dot_kernel.c_str(), double(tensors.bytes()) / 1e6, stream * 1e6, double(sink), unsigned(isink));
    std::printf("us_per_call=%.3f\n", call * 1e6);
}

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);
    Options o;
    CLI::App app{"Inference latency of the seed's MLPs at small batches (layerwise)"};
    app.add_option("--config", o.config, "bn, plain or skip")->check(CLI::IsMember({"bn", "plain", "skip"}));
    app.add_option("--depth", o.depth, "the seed's depth (" + seed::available_depths() + ")");
    app.add_option("--batch", o.batch, "rows per call")->check(CLI::Range(1, 4096));
    app.add_option("--calls", o.calls, "timed calls")->check(CLI::Range(11, 100000000));
    app.add_flag("--unfolded", o.unfolded, "the network as trained, not frozen (each BatchNorm a pass of its own)");
    app.add_flag("--panels", o.panels, "float32 weights in the panel order (to_panels), not as the Dense keeps them");
    app.add_option("--precision", o.precision,
                   "the frozen network's weights: float32, bf16 (to_bf16), or bf16-dot (to_bf16_dot: inputs rounded too)")
        ->check(CLI::IsMember({"float32", "bf16", "bf16-dot"}));
    CLI11_PARSE(app, argc, argv);
    if (o.unfolded && (o.precision != "float32" || o.panels)) {
        std::fprintf(stderr, "bench_infer: --precision bf16, bf16-dot and --panels are of the frozen network; drop --unfolded\n");
        return 2;
    }
    if (o.panels && o.precision != "float32") {
        std::fprintf(stderr, "bench_infer: --panels is for float32 weights (bf16 and bf16-dot keep their own orders); drop one\n");
        return 2;
    }
    try {
        set_threads(1);
        seed::with_seed_network(seed::parse_config(o.config), o.depth, [&]<class Net>() {
            auto net = std::make_unique<Net>();
            init(*net, 1);
            if (o.unfolded) return measure(o, net.get());
            auto frozen = std::make_unique<frozen_t<Net>>(freeze(*net));  // each BatchNorm folded into its Dense
            if (o.panels) {
                auto fast = std::make_unique<panels_t<frozen_t<Net>>>(to_panels(*frozen));  // W in the panel order
                return measure(o, fast.get());
            }
            if (o.precision == "float32") return measure(o, frozen.get());
            if (o.precision == "bf16-dot") {
                auto dot = std::make_unique<bf16_dot_t<frozen_t<Net>>>(to_bf16_dot(*frozen));  // W and x in bfloat16
                return measure(o, dot.get());
            }
            auto small = std::make_unique<bf16_t<frozen_t<Net>>>(to_bf16(*frozen));  // W in bfloat16
            measure(o, small.get());
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_infer: %s\n", e.what());
        return 2;
    }
    return 0;
}
