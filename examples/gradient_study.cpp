// gradient_study — the seed study, in C++: trains the seed's three MLPs at a range of
// depths (and seeds, and framework numerics) on MNIST and records, per run, the training
// history and the statistics of every layer's gradients, activations and backward error.
//
//   gradient_study --epochs 3 --out study                  (3 configs x depths 10..40, seed 1)
//   gradient_study --epochs 20 --seeds 1,2,3 --jobs 2      (the full study)
//   gradient_study --shard 2/8 ...                         (one slice of the grid, for a job array)
//   gradient_study --depths 25:40:5 --seeds 1:3 --rmsprop-epsilon inside,outside --bn-debias off,on
//                                                          (one axis per suspected cause of the seed's collapse)
// Then: scripts/study_report.py study   (figures and REPORT.md; several folders merge).
//
// Every run writes OUT/<config>-d<depth>-s<seed>[-<setting>]/ (seed_settings.hpp names the
// setting): history.csv, keras_history.csv, gradients.csv, bn_stats.csv (BatchNorm configs),
// run.json and a TensorBoard event file. A run is built in OUT/.incomplete/
// and renamed into place when complete, so a rerun skips finished runs and redoes a
// killed one from scratch.
#include "options.hpp"
#include "seed_networks.hpp"
#include "seed_settings.hpp"

#include <layerwise/blas_runtime.hpp>
#include <layerwise/data/mnist.hpp>
#include <layerwise/diagnostics/tensor_stats.hpp>
#include <layerwise/diagnostics/tensorboard.hpp>
#include <layerwise/init.hpp>
#include <layerwise/io/atomic_file.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/train/fit.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>


using namespace layerwise;
namespace fs = std::filesystem;
using diagnostics::TensorStats;

struct Options {
    std::string configs = "bn,plain,skip";
    std::string depths = "10:40:5";
    std::string seeds = "1";
    std::string numerics = "tf2";
    std::string rmsprop_epsilon, bn_debias, bn_momentum, init;  // lists; empty: as the preset / Keras' default
    std::size_t epochs = 20, batch = 128, jobs = 1, grad_every = 0, probe = 1024, train_inference = 10000;
    std::string dataset = "mnist", data, out = "study", shard = "1/1";
};

struct Run {
    seed::Config config;
    std::size_t depth;
    std::uint64_t seed;
    seed::Settings settings;
    std::string name() const {
        const std::string label = settings.label();
        return std::string(seed::config_names[int(config)]) + "-d" + std::to_string(depth) + "-s" + std::to_string(seed) +
               (label == "tf2" ? "" : "-" + label);
    }
};

// "10:40:5" -> 10, 15, ..., 40;  "10,25" -> 10, 25
std::vector<std::size_t> parse_list(const std::string& s, const char* what) {
    std::vector<std::size_t> out;
    try {
        if (s.find(':') != std::string::npos) {
            std::size_t a = 0, b = 0, step = 1;
            char c1 = 0, c2 = 0;
            std::istringstream in(s);
            in >> a >> c1 >> b;
            if (in >> c2) in >> step;
            if (!in.eof() && in.fail()) throw std::invalid_argument(s);
            for (std::size_t v = a; v <= b && step > 0; v += step) out.push_back(v);
        } else {
            std::istringstream in(s);
            std::string item;
            while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
        }
    } catch (const std::exception&) {
        throw std::invalid_argument(std::string("--") + what + ": cannot read '" + s + "' (use a,b,c or first:last:step)");
    }
    if (out.empty()) throw std::invalid_argument(std::string("--") + what + ": '" + s + "' is empty");
    return out;
}

std::vector<std::string> split_names(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    if (out.empty()) out.push_back("");  // not given: one value, the default
    return out;
}

// The settings axis: every combination of the listed values, each distinct setting once, in order.
std::vector<seed::Settings> settings_grid(const Options& o) {
    std::vector<seed::Settings> out;
    for (const std::string& n : split_names(o.numerics))
        for (const std::string& e : split_names(o.rmsprop_epsilon))
            for (const std::string& d : split_names(o.bn_debias))
                for (const std::string& m : split_names(o.bn_momentum))
                    for (const std::string& i : split_names(o.init)) {
                        const seed::Settings s = seed::make_settings(n, e, d, m, i);
                        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
                    }
    return out;
}

// One CSV row of statistics: epoch,step,source,tensor,layer_index,kind,n,l2,...,h00..h29
void stats_row(std::ostream& out, std::size_t epoch, std::size_t step, const char* source, std::string_view tensor,
               std::size_t layer_index, std::string_view kind, const TensorStats& s) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%zu,%zu,%s,%.*s,%zu,%.*s,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%zu,%zu,%zu,%zu", epoch,
                  step, source, int(tensor.size()), tensor.data(), layer_index, int(kind.size()), kind.data(), s.n, s.l2,
                  s.rms, s.mean, s.std, s.max_abs, s.zero_fraction, s.positive, s.negative, s.zeros, s.nonfinite);
    out << buf;
    for (auto h : s.histogram) out << ',' << h;
    out << '\n';
}

std::string stats_header() {
    std::string h = "epoch,step,source,tensor,layer_index,kind,n,l2,rms,mean,std,max_abs,zero_fraction,positive,negative,zeros,nonfinite";
    for (std::size_t b = 0; b < TensorStats::bins; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, ",h%02zu", b);
        h += name;
    }
    return h + "\n";
}

template <class T>
std::span<const T> span_of(const auto& tensor) {
    return {tensor.data(), tensor.size()};
}

// Statistics of every trainable gradient and of every leaf layer's output and input
// gradient, as the network holds them after its last forward and backward.
template <class Net>
void record_stats(Net& net, std::ostream& out, std::size_t epoch, std::size_t step, const char* source) {
    std::map<std::string, std::size_t, std::less<>> leaf_index;
    for_each_layer(net, [&](auto& layer, const LayerInfo& li) {
        leaf_index.emplace(std::string(li.name), li.index);
        stats_row(out, epoch, step, source, li.name, li.index, "activation",
                  diagnostics::tensor_stats(span_of<float>(layer.output())));
        stats_row(out, epoch, step, source, li.name, li.index, "input_gradient",
                  diagnostics::tensor_stats(span_of<float>(layer.input_gradient())));
    });
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (!p.trainable) return;
        stats_row(out, epoch, step, source, p.name, leaf_index.find(p.layer)->second, p.kind,
                  diagnostics::tensor_stats(span_of<float>(grad)));
    });
}

// Per BatchNorm layer, how far its moving statistics (what inference normalises with) are
// from the statistics of the probe batch (what train mode normalises with), over its N features:
//   mean_shift_j    = |moving_mean_j - mu_j| / sqrt(var_j + eps)      (in units of the batch std)
//   log_var_ratio_j = log((moving_var_j + eps) / (var_j + eps))       (0: the same scale)
// summarised as the median and the largest magnitude. Call right after probe(): a train-mode
// forward is what leaves the probe batch's mu and var in the layer.
std::string bn_stats_header() {
    return "epoch,layer_index,layer,mean_shift_median,mean_shift_max,log_var_ratio_median,log_var_ratio_max_abs\n";
}

template <class Net>
void record_bn_stats(Net& net, std::ostream& out, std::size_t epoch) {
    for_each_layer(net, [&](auto& layer, const LayerInfo& li) {
        if constexpr (requires { layer.batch_variance(); }) {
            constexpr std::size_t N = std::remove_cvref_t<decltype(layer)>::out_features;
            const double eps = double(layer.epsilon);
            std::array<double, N> shift, ratio;
            for (std::size_t j = 0; j < N; ++j) {
                const double var = double(layer.batch_variance()[j]) + eps;
                shift[j] = std::abs(double(layer.moving_mean(j)) - double(layer.batch_mean()[j])) / std::sqrt(var);
                ratio[j] = std::log((double(layer.moving_variance(j)) + eps) / var);
            }
            auto median = [](std::array<double, N> v) {
                std::sort(v.begin(), v.end());
                return N % 2 ? v[N / 2] : 0.5 * (v[N / 2 - 1] + v[N / 2]);
            };
            double max_shift = 0, max_ratio = 0;
            for (std::size_t j = 0; j < N; ++j) {
                max_shift = std::max(max_shift, shift[j]);
                max_ratio = std::max(max_ratio, std::abs(ratio[j]));
            }
            char buf[256];
            std::snprintf(buf, sizeof buf, "%zu,%zu,%.*s,%.9g,%.9g,%.9g,%.9g\n", epoch, li.index, int(li.name.size()),
                          li.name.data(), median(shift), max_shift, median(ratio), max_ratio);
            out << buf;
        }
    });
}

// Turns every BatchNorm's moving-statistics update in train mode on or off.
template <class Net>
void track_moving_statistics(Net& net, bool on) {
    for_each_layer(net, [on](auto& layer, const LayerInfo&) {
        if constexpr (requires { layer.track_moving_statistics; }) layer.track_moving_statistics = on;
    });
}

// Forward and backward on the fixed probe batch, BatchNorm in train mode but with its
// moving statistics left alone, so that probing does not change the model.
// Returns the probe batch's loss and accuracy in train mode.
template <class Net>
Evaluation probe(Net& net, const Matrix<float>& x, std::span<const int> y) {
    track_moving_statistics(net, false);
    SoftmaxCrossEntropy<float> loss;
    const double value = loss.forward(net.forward(x, Mode::train), y);
    net.backward(loss.backward());
    track_moving_statistics(net, true);
    return {value, double(loss.correct()) / double(y.size())};
}

// probe.csv: the probe batch's loss and accuracy with the same weights in both modes, so the
// gap between them is BatchNorm's batch-vs-moving statistics and nothing else. Call after
// the statistics of the train-mode probe are recorded (an inference forward overwrites them).
template <class Net>
void record_probe_modes(Net& net, const Evaluation& train_mode, const Matrix<float>& x, std::span<const int> y,
                        std::ostream& out, std::size_t epoch) {
    SoftmaxCrossEntropy<float> loss;
    const double value = loss.forward(net.forward(x, Mode::inference), y);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%zu,%.9g,%.9g,%.9g,%.9g\n", epoch, train_mode.loss, train_mode.accuracy, value,
                  double(loss.correct()) / double(y.size()));
    out << buf;
}

template <class Net>
void tensorboard_epoch(diagnostics::EventWriter& tb, Net& net, const EpochRecord& r) {
    const auto step = static_cast<std::int64_t>(r.epoch);
    tb.add_scalar("loss", step, r.loss);
    tb.add_scalar("accuracy", step, r.accuracy);
    tb.add_scalar("val_loss", step, r.val_loss);
    tb.add_scalar("val_accuracy", step, r.val_accuracy);
    if (!std::isnan(r.train_accuracy_inference)) {
        tb.add_scalar("train_loss_inference", step, r.train_loss_inference);
        tb.add_scalar("train_accuracy_inference", step, r.train_accuracy_inference);
    }
    for_each_parameter(net, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (p.trainable) tb.add_histogram(std::string(p.name) + "_0_grad", step, span_of<float>(grad));
    });
}

std::string keras_history_csv(const History& h) {
    std::ostringstream out;  // pandas.DataFrame(history.history).to_csv(), as the seed writes it
    out << ",acc,loss,val_acc,val_loss\n";
    char line[160];
    for (std::size_t i = 0; i < h.epochs.size(); ++i) {
        const EpochRecord& e = h.epochs[i];
        std::snprintf(line, sizeof line, "%zu,%.9g,%.9g,%.9g,%.9g\n", i, e.accuracy, e.loss, e.val_accuracy, e.val_loss);
        out << line;
    }
    return out.str();
}

struct Study {
    Options o;
    data::Split split;
    Matrix<float> probe_x;
    std::vector<int> probe_y;
    std::mutex print;

    template <class Net>
    void train(const Run& run, const fs::path& dir) {
        auto net = std::make_unique<Net>();
        init(*net, run.seed, run.settings.init);
        run.settings.apply(*net);
        RMSprop<float> optimizer;
        run.settings.apply(optimizer);
        diagnostics::EventWriter tb(dir);
        std::ostringstream grads, bn_stats, modes;
        grads << stats_header();
        bn_stats << bn_stats_header();
        modes << "epoch,loss_train_mode,accuracy_train_mode,loss_inference,accuracy_inference\n";
        const Evaluation at_init = probe(*net, probe_x, probe_y);
        record_bn_stats(*net, bn_stats, 0);
        record_stats(*net, grads, 0, 0, "probe");  // at initialisation: signal propagation before training
        record_probe_modes(*net, at_init, probe_x, probe_y, modes, 0);

        FitOptions fo;
        fo.epochs = o.epochs;
        fo.batch_size = o.batch;
        fo.seed = run.seed;
        fo.verbosity = Verbosity::quiet;
        fo.inference_train_samples = std::min(o.train_inference, split.train.size());
        fo.input_gradient = o.grad_every > 0;  // the live statistics include the first layer's dx
        fo.on_step = [&](std::size_t epoch, std::size_t step, std::size_t global) {
            if (o.grad_every && global % o.grad_every == 0) record_stats(*net, grads, epoch, step, "live");
        };
        fo.on_epoch_end = [&](const EpochRecord& r) {
            const Evaluation train_mode = probe(*net, probe_x, probe_y);
            record_bn_stats(*net, bn_stats, r.epoch);
            record_stats(*net, grads, r.epoch, 0, "probe");
            record_probe_modes(*net, train_mode, probe_x, probe_y, modes, r.epoch);
            tensorboard_epoch(tb, *net, r);
            std::lock_guard lock(print);
            std::printf("  %-28s epoch %zu/%zu  loss %.4f  accuracy %.4f  train_inference %.4f  val_accuracy %.4f  (%.1f s)\n",
                        run.name().c_str(), r.epoch, o.epochs, r.loss, r.accuracy, r.train_accuracy_inference,
                        r.val_accuracy, r.seconds);
            std::fflush(stdout);
        };
        const History h = fit(*net, optimizer, {split.train.images, split.train.labels},
                              {split.test.images, split.test.labels}, fo);
        io::write_file_atomically(dir / "history.csv", h.csv());
        io::write_file_atomically(dir / "keras_history.csv", keras_history_csv(h));
        io::write_file_atomically(dir / "gradients.csv", grads.str());
        io::write_file_atomically(dir / "probe.csv", modes.str());
        if (bn_stats.str() != bn_stats_header()) io::write_file_atomically(dir / "bn_stats.csv", bn_stats.str());
        const seed::Settings& st = run.settings;
        std::ostringstream meta;
        meta << "{\"config\": \"" << seed::config_names[int(run.config)] << "\", \"depth\": " << run.depth
             << ", \"seed\": " << run.seed << ", \"setting\": \"" << st.label() << "\", \"numerics\": \""
             << st.preset() << "\", \"rmsprop_epsilon\": \"" << to_string(st.numerics.rmsprop_epsilon)
             << "\", \"bn_debias\": " << (st.numerics.bn_debias ? "true" : "false")
             << ", \"bn_momentum\": " << st.bn_momentum << ", \"init\": \"" << to_string(st.init)
             << "\", \"train_inference\": " << fo.inference_train_samples << ", \"epochs\": " << o.epochs << ", \"batch\": " << o.batch << ", \"dataset\": \"" << o.dataset
             << "\", \"parameters\": " << Net::parameter_count << ", \"diverged\": "
             << (h.divergence ? "{\"epoch\": " + std::to_string(h.divergence->epoch) +
                                    ", \"step\": " + std::to_string(h.divergence->step) + "}"
                              : std::string("null"))
             << "}\n";
        io::write_file_atomically(dir / "run.json", meta.str());
    }
};

int main(int argc, char** argv) {
    use_fast_blas_kernel(argv);  // re-executes with a fast OPENBLAS_CORETYPE if OpenBLAS chose a generic kernel
    Options o;
    CLI::App app{"The seed's gradient study: configs x depths x seeds on MNIST, with per-layer gradient statistics"};
    app.add_option("--configs", o.configs, "comma-separated: bn, plain, skip");
    app.add_option("--depths", o.depths, "first:last:step or a list (compiled in: " + seed::available_depths() + ")");
    app.add_option("--seeds", o.seeds, "a list (1,2,3) or a range (1:5)");
    app.add_option("--numerics", o.numerics, "tf2, keras2.1 or both (tf2,keras2.1): a study axis of presets");
    app.add_option("--rmsprop-epsilon", o.rmsprop_epsilon, "inside, outside or both: overrides the preset's part");
    app.add_option("--bn-debias", o.bn_debias, "on, off or both (on,off): overrides the preset's part");
    app.add_option("--bn-momentum", o.bn_momentum, "BatchNorm momentum values, e.g. 0.99,0.9 (default 0.99)");
    app.add_option("--init", o.init, "kernel initialisers: glorot_uniform (default), he_uniform, he_normal");
    app.add_option("--train-inference", o.train_inference,
                   "after each epoch, evaluate this many training images in inference mode (0: off)");
    app.add_option("--epochs", o.epochs, "epochs per run")->check(seed::whole_number(1));
    app.add_option("--batch", o.batch, "mini-batch size (at least 2: BatchNorm needs two samples)")
        ->check(seed::whole_number(2));
    app.add_option("--grad-every", o.grad_every, "also record statistics of the live batch every K steps (0: off)");
    app.add_option("--probe", o.probe, "size of the fixed probe batch (the first N training images)")
        ->check(seed::whole_number(2, 60000));
    app.add_option("--dataset", o.dataset, "mnist or fashion")->check(CLI::IsMember({"mnist", "fashion"}));
    app.add_option("--data", o.data, "folder with the IDX files (default: data/mnist, or Debian's Fashion-MNIST)");
    app.add_option("--out", o.out, "study folder");
    app.add_option("--jobs", o.jobs, "runs in parallel (each on one BLAS thread)")
        ->check(seed::whole_number(1, std::max(1u, std::thread::hardware_concurrency())));
    app.add_option("--shard", o.shard, "i/n: run only the i-th of n slices of the grid (1-based)");
    CLI11_PARSE(app, argc, argv);

    try {
        const std::vector<std::size_t> depths = parse_list(o.depths, "depths"), seeds = parse_list(o.seeds, "seeds");
        for (std::size_t d : depths) seed::check_depth(d, "--depths:");
        std::vector<Run> runs;
        for (const seed::Settings& st : settings_grid(o))
            for (const std::string& c : split_names(o.configs))
                for (std::size_t d : depths)
                    for (std::size_t s : seeds) {
                        Run run{seed::parse_config(c), d, s, st};
                        if (run.config == seed::Config::plain) {  // no BatchNorm: its settings do not apply
                            run.settings.numerics.bn_debias = false;
                            run.settings.bn_momentum = 0.99;
                        }
                        if (std::none_of(runs.begin(), runs.end(), [&](const Run& r) { return r.name() == run.name(); }))
                            runs.push_back(run);
                    }
        std::size_t shard = 1, shards = 1;
        if (std::sscanf(o.shard.c_str(), "%zu/%zu", &shard, &shards) != 2 || shard < 1 || shard > shards)
            throw std::invalid_argument("--shard: '" + o.shard + "' is not i/n with 1 <= i <= n");
        std::vector<Run> mine, todo;
        for (std::size_t k = 0; k < runs.size(); ++k)
            if (k % shards == shard - 1) mine.push_back(runs[k]);
        const fs::path out = o.out;
        seed::check_output_folder(out, {});
        for (const Run& r : mine)
            if (!fs::exists(out / r.name() / "run.json")) todo.push_back(r);
        std::printf("gradient_study: %zu runs in the grid, %zu in shard %zu/%zu, %zu already done, %zu to run -> %s\n",
                    runs.size(), mine.size(), shard, shards, mine.size() - todo.size(), todo.size(), out.c_str());
        if (todo.empty()) return 0;

        Study study{o, seed::load_dataset(o.dataset, o.data), {}, {}, {}};
        const std::size_t p = std::min(o.probe, study.split.train.size());
        study.probe_x = zeros<float>(p, 784);
        std::copy(study.split.train.images.data(), study.split.train.images.data() + p * 784, study.probe_x.data());
        study.probe_y.assign(study.split.train.labels.begin(), study.split.train.labels.begin() + long(p));
        if (o.jobs > 1) set_blas_threads(1);  // one core per run

        const fs::path incomplete = out / ".incomplete";
        fs::create_directories(incomplete);
        std::atomic<std::size_t> next{0}, finished{0};
        std::atomic<bool> failed{false};
        const auto t0 = std::chrono::steady_clock::now();
        auto worker = [&] {
            for (std::size_t k; (k = next++) < todo.size() && !failed;) {
                const Run& run = todo[k];
                const fs::path tmp = incomplete / run.name(), final_dir = out / run.name();
                fs::remove_all(tmp);  // what a killed run left: redo it from scratch
                fs::create_directories(tmp);
                const auto start = std::chrono::steady_clock::now();
                try {
                    seed::with_seed_network(run.config, run.depth, [&]<class Net>() { study.train<Net>(run, tmp); });
                    fs::remove_all(final_dir);
                    fs::rename(tmp, final_dir);
                } catch (const std::exception& e) {
                    std::lock_guard lock(study.print);
                    std::fprintf(stderr, "gradient_study: run %s failed: %s\n", run.name().c_str(), e.what());
                    failed = true;
                    return;
                }
                const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                std::lock_guard lock(study.print);
                std::printf("[%zu/%zu] %s done in %.1f s -> %s\n", ++finished, todo.size(), run.name().c_str(), secs,
                            final_dir.c_str());
                std::fflush(stdout);
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t j = 0; j < std::min(o.jobs, todo.size()); ++j) pool.emplace_back(worker);
        for (auto& t : pool) t.join();
        if (failed) return 1;
        std::printf("gradient_study: %zu runs in %.1f s. Figures and report: scripts/study_report.py %s\n", todo.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gradient_study: %s\n", e.what());
        return 2;
    }
    return 0;
}
