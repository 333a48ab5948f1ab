// Tests of study::Recorder: each file it writes (gradients.csv, probe.csv, bn_stats.csv, the
// TensorBoard event file), checked row by row against the probe computed here in double, by
// hand, for a network of four layers; and that recording changes nothing of training.
#include "testing.hpp"

#include <layerwise/layerwise.hpp>
#include <layerwise/optim/rmsprop.hpp>
#include <layerwise/study/recorder.hpp>
#include <layerwise/train/fit.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace layerwise;
namespace fs = std::filesystem;
using layerwise::testing::TempDir;

namespace {

template <class T>
using Tiny = Sequential<Dense<3, 4, T>, BatchNorm<4, T>, Activation<relu_fn, T>, Dense<4, 2, T>>;
constexpr std::size_t B = 6;  // probe rows
constexpr double eps = 1e-3;  // BatchNorm's

template <class T>
struct Probe {
    Matrix<T> x = layerwise::testing::random_matrix<T>(B, 3, 17, -2, 2);
    std::vector<int> y = {0, 1, 1, 0, 1, 0};
};

// ------------------------------------------------------------------ reading the files

using Rows = std::vector<std::vector<std::string>>;

Rows read_csv(const fs::path& file, std::string* header = nullptr) {
    std::istringstream in(layerwise::testing::read_file(file));
    Rows rows;
    std::string line;
    std::getline(in, line);
    if (header) *header = line + "\n";
    while (std::getline(in, line)) {
        std::vector<std::string>& row = rows.emplace_back();
        std::istringstream fields(line);
        for (std::string f; std::getline(fields, f, ',');) row.push_back(f);
    }
    return rows;
}

double num(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// gradients.csv's columns
enum Col { epoch_c, step_c, source_c, tensor_c, layer_c, kind_c, n_c, l2_c, rms_c, mean_c, std_c, max_abs_c };

// ------------------------------------------------------------------ the probe, by hand

// A (rows x cols) row-major tensor in double.
struct Tensor {
    std::size_t rows = 0, cols = 0;
    std::vector<double> v;
    Tensor() = default;
    Tensor(std::size_t r, std::size_t c) : rows(r), cols(c), v(r * c, 0.0) {}
    double& operator()(std::size_t i, std::size_t j) { return v[i * cols + j]; }
    double operator()(std::size_t i, std::size_t j) const { return v[i * cols + j]; }
    double l2() const {
        double s = 0;
        for (double a : v) s += a * a;
        return std::sqrt(s);
    }
    double sum() const {
        double s = 0;
        for (double a : v) s += a;
        return s;
    }
    double max_abs() const {
        double m = 0;
        for (double a : v) m = std::max(m, std::abs(a));
        return m;
    }
};

// Every parameter of net by name, in double.
template <class N>
std::map<std::string, std::vector<double>> parameters_of(N& net) {
    std::map<std::string, std::vector<double>> out;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        out[std::string(p.name)].assign(value.begin(), value.end());
    });
    return out;
}

Tensor as_matrix(const std::vector<double>& v, std::size_t rows, std::size_t cols) {
    Tensor t(rows, cols);
    t.v = v;
    return t;
}

// The probe on parameters P: forward in train mode (batch statistics), the loss and its
// backward, then the loss in inference mode (moving statistics).
struct Reference {
    Tensor h, bn, r, z;             // the four layers' outputs
    Tensor dx, dh, dbn, dr;         // their input gradients
    Tensor dW1, db1, dgamma, dbeta, dW2, db2;
    std::vector<double> mu, var;    // the batch's
    double loss_train = 0, accuracy_train = 0, loss_inference = 0, accuracy_inference = 0;

    template <class T>
    Reference(std::map<std::string, std::vector<double>> P, const Matrix<T>& xin, const std::vector<int>& y) {
        Tensor x(B, 3);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t k = 0; k < 3; ++k) x(i, k) = double(xin(i, k));
        const Tensor W1 = as_matrix(P["dense/kernel"], 3, 4), W2 = as_matrix(P["dense_1/kernel"], 4, 2);
        const std::vector<double> &b1 = P["dense/bias"], &b2 = P["dense_1/bias"], &gamma = P["batch_normalization/gamma"],
                                  &beta = P["batch_normalization/beta"];
        h = Tensor(B, 4);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < 4; ++j) {
                h(i, j) = b1[j];
                for (std::size_t k = 0; k < 3; ++k) h(i, j) += x(i, k) * W1(k, j);
            }
        mu.assign(4, 0.0);
        var.assign(4, 0.0);
        for (std::size_t j = 0; j < 4; ++j) {
            for (std::size_t i = 0; i < B; ++i) mu[j] += h(i, j) / B;
            for (std::size_t i = 0; i < B; ++i) var[j] += (h(i, j) - mu[j]) * (h(i, j) - mu[j]) / B;
        }
        auto layers_after_dense = [&](const std::vector<double>& m, const std::vector<double>& v, Tensor& bn_out,
                                      Tensor& r_out, Tensor& z_out) {
            bn_out = r_out = Tensor(B, 4);
            z_out = Tensor(B, 2);
            for (std::size_t i = 0; i < B; ++i)
                for (std::size_t j = 0; j < 4; ++j) {
                    bn_out(i, j) = gamma[j] * (h(i, j) - m[j]) / std::sqrt(v[j] + eps) + beta[j];
                    r_out(i, j) = std::max(bn_out(i, j), 0.0);
                }
            for (std::size_t i = 0; i < B; ++i)
                for (std::size_t c = 0; c < 2; ++c) {
                    z_out(i, c) = b2[c];
                    for (std::size_t j = 0; j < 4; ++j) z_out(i, c) += r_out(i, j) * W2(j, c);
                }
        };
        // mean cross-entropy, accuracy and dL/dz of logits z
        auto cross_entropy = [&](const Tensor& logits, double& loss, double& accuracy, Tensor* dz) {
            loss = accuracy = 0;
            for (std::size_t i = 0; i < B; ++i) {
                const double m = std::max(logits(i, 0), logits(i, 1));
                const double e0 = std::exp(logits(i, 0) - m), e1 = std::exp(logits(i, 1) - m);
                const double p[2] = {e0 / (e0 + e1), e1 / (e0 + e1)};
                loss -= std::log(p[y[i]]) / B;
                accuracy += (logits(i, 1) > logits(i, 0) ? 1 : 0) == y[i] ? 1.0 / B : 0.0;
                if (dz)
                    for (std::size_t c = 0; c < 2; ++c) (*dz)(i, c) = (p[c] - (int(c) == y[i] ? 1.0 : 0.0)) / B;
            }
        };
        layers_after_dense(mu, var, bn, r, z);
        Tensor dz(B, 2);
        cross_entropy(z, loss_train, accuracy_train, &dz);

        dW2 = Tensor(4, 2), db2 = Tensor(1, 2), dr = Tensor(B, 4);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t c = 0; c < 2; ++c) {
                db2(0, c) += dz(i, c);
                for (std::size_t j = 0; j < 4; ++j) {
                    dW2(j, c) += r(i, j) * dz(i, c);
                    dr(i, j) += dz(i, c) * W2(j, c);
                }
            }
        dbn = Tensor(B, 4);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < 4; ++j) dbn(i, j) = bn(i, j) > 0 ? dr(i, j) : 0.0;
        dgamma = Tensor(1, 4), dbeta = Tensor(1, 4), dh = Tensor(B, 4);
        for (std::size_t j = 0; j < 4; ++j) {
            const double inv = 1 / std::sqrt(var[j] + eps);
            for (std::size_t i = 0; i < B; ++i) {
                dbeta(0, j) += dbn(i, j);
                dgamma(0, j) += dbn(i, j) * (h(i, j) - mu[j]) * inv;
            }
            for (std::size_t i = 0; i < B; ++i)  // dx = gamma / (B sqrt(var + eps)) (B dy - dbeta - xhat dgamma)
                dh(i, j) = gamma[j] * inv / B *
                           (B * dbn(i, j) - dbeta(0, j) - (h(i, j) - mu[j]) * inv * dgamma(0, j));
        }
        dW1 = Tensor(3, 4), db1 = Tensor(1, 4), dx = Tensor(B, 3);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < 4; ++j) {
                db1(0, j) += dh(i, j);
                for (std::size_t k = 0; k < 3; ++k) {
                    dW1(k, j) += x(i, k) * dh(i, j);
                    dx(i, k) += dh(i, j) * W1(k, j);
                }
            }
        Tensor bn_i, r_i, z_i;
        layers_after_dense(P["batch_normalization/moving_mean"], P["batch_normalization/moving_variance"], bn_i, r_i, z_i);
        cross_entropy(z_i, loss_inference, accuracy_inference, nullptr);
    }

    // The expected rows of one probe record.
    struct Row {
        std::string tensor;
        std::size_t layer;
        std::string kind;
        const Tensor* values;
    };
    std::vector<Row> rows() const {
        return {{"dense", 0, "activation", &h},
                {"dense", 0, "input_gradient", &dx},
                {"batch_normalization", 1, "activation", &bn},
                {"batch_normalization", 1, "input_gradient", &dh},
                {"activation", 2, "activation", &r},
                {"activation", 2, "input_gradient", &dbn},
                {"dense_1", 3, "activation", &z},
                {"dense_1", 3, "input_gradient", &dr},
                {"dense/kernel", 0, "kernel", &dW1},
                {"dense/bias", 0, "bias", &db1},
                {"batch_normalization/gamma", 1, "gamma", &dgamma},
                {"batch_normalization/beta", 1, "beta", &dbeta},
                {"dense_1/kernel", 3, "kernel", &dW2},
                {"dense_1/bias", 3, "bias", &db2}};
    }
};

// Relative tolerance: float's rounding, or the 9 digits of %.9g in the files.
template <class T>
double tolerance() {
    return std::is_same_v<T, float> ? 2e-4 : 2e-8;
}

// |actual - expected| within tolerance of |expected| + scale, where scale is the size of what
// was summed or measured: a quantity that is 0 in exact arithmetic (BatchNorm cancels the
// bias before it; softmax's gradient sums to 0 over the classes) comes out as rounding.
template <class T>
bool near(double actual, double expected, double scale) {
    return std::abs(actual - expected) <= tolerance<T>() * (std::abs(expected) + scale);
}

// The probe rows of gradients.csv for `epoch` against the reference.
template <class T>
void check_probe_rows(const Rows& rows, std::size_t epoch, const Reference& ref) {
    Rows mine;
    for (const auto& r : rows)
        if (r[source_c] == "probe" && r[epoch_c] == std::to_string(epoch)) mine.push_back(r);
    const auto expected = ref.rows();
    REQUIRE(mine.size() == expected.size());
    double largest = 0;  // the largest l2 in the record
    for (const auto& e : expected) largest = std::max(largest, e.values->l2());
    for (std::size_t k = 0; k < mine.size(); ++k) {
        const Reference::Row& e = expected[k];
        const Tensor* values = e.values;
        CAPTURE(epoch);
        CAPTURE(e.tensor);
        CAPTURE(e.kind);
        CHECK(mine[k][step_c] == "0");
        CHECK(mine[k][tensor_c] == e.tensor);
        CHECK(num(mine[k][layer_c]) == double(e.layer));
        CHECK(mine[k][kind_c] == e.kind);
        CHECK(num(mine[k][n_c]) == double(values->v.size()));
        const double n = double(values->v.size()), scale = values->l2() + 1e-3 * largest;
        CHECK_MESSAGE(near<T>(num(mine[k][l2_c]), values->l2(), scale), mine[k][l2_c] << " vs " << values->l2());
        CHECK_MESSAGE(near<T>(num(mine[k][max_abs_c]), values->max_abs(), scale),
                      mine[k][max_abs_c] << " vs " << values->max_abs());
        CHECK_MESSAGE(near<T>(num(mine[k][mean_c]) * n, values->sum(), scale * std::sqrt(n)),
                      mine[k][mean_c] << " x " << n << " vs " << values->sum());
    }
}

// ------------------------------------------------------------------ the event file

struct Event {
    std::string json;
    std::string text(const std::string& key) const {
        const std::string k = "\"" + key + "\": \"";
        const std::size_t at = json.find(k);
        if (at == std::string::npos) return "";
        return json.substr(at + k.size(), json.find('"', at + k.size()) - at - k.size());
    }
    double number(const std::string& key) const {
        const std::string k = "\"" + key + "\": ";
        const std::size_t at = json.find(k);
        REQUIRE_MESSAGE(at != std::string::npos, "no " << key << " in " << json);
        return std::strtod(json.c_str() + at + k.size(), nullptr);
    }
};

// The events of the one event file in dir, decoded by tests/decode_tfevents.py.
std::vector<Event> decode_events(const fs::path& dir) {
    fs::path file;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with("events.out.tfevents.")) file = e.path();
    REQUIRE_MESSAGE(!file.empty(), "no event file in " << dir);
    const fs::path script = fs::path(__FILE__).parent_path() / "decode_tfevents.py";
    REQUIRE_MESSAGE(fs::exists(script), script << " is missing");
    const layerwise::testing::CommandResult decoded =
        layerwise::testing::run_command("/usr/bin/python3 '" + script.string() + "' '" + file.string() + "' 2>&1");
    INFO(decoded.output);
    REQUIRE(decoded.status == 0);
    std::vector<Event> events;
    std::istringstream lines(decoded.output);
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("{\"step\": ")) events.push_back({line});
    return events;
}

template <class T>
Samples<T> samples_of(const Matrix<T>& x, const std::vector<int>& y) {
    return {x, y};
}

// 48 training samples from two shifted blobs, and the options to train on them.
template <class T>
struct TrainSet {
    Matrix<T> x = layerwise::testing::random_matrix<T>(48, 3, 23, -1, 1);
    std::vector<int> y = std::vector<int>(48);
    TrainSet() {
        for (std::size_t i = 0; i < 48; ++i) {
            y[i] = int(i % 2);
            x(i, 0) += T(y[i] ? 1 : -1);
        }
    }
};

FitOptions quiet(std::size_t epochs) {
    return {.epochs = epochs, .batch_size = 16, .seed = 3, .verbosity = Verbosity::quiet};
}

}  // namespace

TEST_CASE_TEMPLATE("at initialisation, gradients.csv, probe.csv and bn_stats.csv hold the probe's numbers", T, float,
                   double) {
    const TempDir dir("recorder_init");
    const Probe<T> probe;
    Tiny<T> net;
    init(net, 5);
    const Reference ref(parameters_of(net), probe.x, probe.y);
    study::Recorder<Tiny<T>> recorder(net, probe.x, probe.y, dir.path);
    recorder.write();

    std::string header;
    const Rows grads = read_csv(dir / "gradients.csv", &header);
    CHECK(header == study::gradients_header());
    CHECK(grads.size() == 14);  // 4 layers x (output, input gradient) + 6 trainable gradients
    for (const auto& r : grads) CHECK(r.size() == 17 + diagnostics::TensorStats::bins);
    check_probe_rows<T>(grads, 0, ref);

    const Rows probe_rows = read_csv(dir / "probe.csv", &header);
    CHECK(header == study::probe_header());
    REQUIRE(probe_rows.size() == 1);
    CHECK(probe_rows[0][0] == "0");
    CHECK(num(probe_rows[0][1]) == doctest::Approx(ref.loss_train).epsilon(tolerance<T>()));
    CHECK(num(probe_rows[0][2]) == doctest::Approx(ref.accuracy_train));
    CHECK(num(probe_rows[0][3]) == doctest::Approx(ref.loss_inference).epsilon(tolerance<T>()));
    CHECK(num(probe_rows[0][4]) == doctest::Approx(ref.accuracy_inference));
    CHECK(ref.loss_train != doctest::Approx(ref.loss_inference));  // the two modes differ here

    // moving statistics at initialisation: mean 0, variance 1
    const Rows bn = read_csv(dir / "bn_stats.csv", &header);
    CHECK(header == study::bn_stats_header());
    REQUIRE(bn.size() == 1);
    CHECK(bn[0][0] == "0");
    CHECK(bn[0][1] == "1");
    CHECK(bn[0][2] == "batch_normalization");
    std::vector<double> shift(4), ratio(4);
    for (std::size_t j = 0; j < 4; ++j) {
        shift[j] = std::abs(0 - ref.mu[j]) / std::sqrt(ref.var[j] + eps);
        ratio[j] = std::log((1 + eps) / (ref.var[j] + eps));
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return 0.5 * (v[1] + v[2]);
    };
    double max_ratio = 0;
    for (double r : ratio) max_ratio = std::max(max_ratio, std::abs(r));
    CHECK(num(bn[0][3]) == doctest::Approx(median(shift)).epsilon(tolerance<T>()));
    CHECK(num(bn[0][4]) == doctest::Approx(*std::max_element(shift.begin(), shift.end())).epsilon(tolerance<T>()));
    CHECK(num(bn[0][5]) == doctest::Approx(median(ratio)).epsilon(tolerance<T>()));
    CHECK(num(bn[0][6]) == doctest::Approx(max_ratio).epsilon(tolerance<T>()));
}

TEST_CASE_TEMPLATE("each epoch's probe reads the trained network, and recording changes nothing of training", T, float,
                   double) {
    const TempDir dir("recorder_fit");
    const Probe<T> probe;
    const TrainSet<T> data;
    Tiny<T> recorded, plain;
    init(recorded, 7);
    init(plain, 7);
    RMSprop<T> opt_a(T(0.01)), opt_b(T(0.01));
    study::Recorder<Tiny<T>> recorder(recorded, probe.x, probe.y, dir.path);
    FitDiagnostics mine;
    std::size_t calls = 0;
    mine.on_epoch_end = [&](const EpochRecord& r) {  // the caller's own callback comes first
        ++calls;
        recorder.write();
        CHECK(read_csv(dir / "probe.csv").size() == r.epoch);  // epochs 0 .. r.epoch - 1 so far
    };
    const History a = fit(recorded, opt_a, samples_of(data.x, data.y), samples_of(data.x, data.y), quiet(2),
                          recorder.diagnostics(mine));
    const History b = fit(plain, opt_b, samples_of(data.x, data.y), samples_of(data.x, data.y), quiet(2));
    recorder.write();
    CHECK(calls == 2);
    REQUIRE(a.epochs.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(a.epochs[e].loss == b.epochs[e].loss);  // bit for bit
        CHECK(a.epochs[e].val_loss == b.epochs[e].val_loss);
    }
    CHECK(parameters_of(recorded) == parameters_of(plain));

    // After the last epoch the parameters are the final ones: the last probe is theirs.
    const Reference ref(parameters_of(recorded), probe.x, probe.y);
    const Rows grads = read_csv(dir / "gradients.csv");
    CHECK(grads.size() == 3 * 14);
    check_probe_rows<T>(grads, 2, ref);
    const Rows probe_rows = read_csv(dir / "probe.csv");
    REQUIRE(probe_rows.size() == 3);
    CHECK(probe_rows[2][0] == "2");
    CHECK(num(probe_rows[2][1]) == doctest::Approx(ref.loss_train).epsilon(tolerance<T>()));
    CHECK(num(probe_rows[2][3]) == doctest::Approx(ref.loss_inference).epsilon(tolerance<T>()));
    // the moving statistics have moved, so the inference probe is not the initial one
    const Rows bn = read_csv(dir / "bn_stats.csv");
    REQUIRE(bn.size() == 3);
    CHECK(bn[2][0] == "2");
    CHECK(bn[0][3] != bn[2][3]);
}

TEST_CASE("live rows come from the training batch: a fused BatchNorm+ReLU forms the pair's input gradient and output") {
    const TempDir dir("recorder_live");
    const Probe<float> probe;
    const TrainSet<float> data;  // 48 samples in batches of 16: 3 steps per epoch
    Tiny<float> net;
    init(net, 2);
    RMSprop<float> opt;
    study::Recorder<Tiny<float>> recorder(net, probe.x, probe.y, dir.path, /*live_every=*/2);
    fit(net, opt, samples_of(data.x, data.y), samples_of(data.x, data.y), quiet(2), recorder.diagnostics());
    recorder.write();
    Rows live;
    for (const auto& r : read_csv(dir / "gradients.csv"))
        if (r[source_c] == "live") live.push_back(r);
    // global steps 2, 4, 6: epoch 1 step 2, epoch 2 steps 1 and 3
    const std::vector<std::pair<std::string, std::string>> when = {{"1", "2"}, {"2", "1"}, {"2", "3"}};
    const std::vector<std::tuple<std::string, std::string, double>> expected = {
        {"dense", "activation", 16 * 4},
        {"dense", "input_gradient", 16 * 3},  // the first layer's dx: the recorder asks fit for it
        {"batch_normalization", "input_gradient", 16 * 4},
        {"activation", "activation", 16 * 4},
        {"dense_1", "activation", 16 * 2},
        {"dense_1", "input_gradient", 16 * 4},
        {"dense/kernel", "kernel", 12},
        {"dense/bias", "bias", 4},
        {"batch_normalization/gamma", "gamma", 4},
        {"batch_normalization/beta", "beta", 4},
        {"dense_1/kernel", "kernel", 8},
        {"dense_1/bias", "bias", 2}};
    REQUIRE(live.size() == when.size() * expected.size());
    for (std::size_t k = 0; k < live.size(); ++k) {
        const auto& e = expected[k % expected.size()];
        CAPTURE(k);
        CHECK(live[k][epoch_c] == when[k / expected.size()].first);
        CHECK(live[k][step_c] == when[k / expected.size()].second);
        CHECK(live[k][tensor_c] == std::get<0>(e));
        CHECK(live[k][kind_c] == std::get<1>(e));
        CHECK(num(live[k][n_c]) == std::get<2>(e));
        CHECK(num(live[k][l2_c]) > 0);
    }
}

TEST_CASE("the event file holds each epoch's scalars and the probe's gradient histograms") {
    const TempDir dir("recorder_events");
    const Probe<float> probe;
    const TrainSet<float> data;
    Tiny<float> net;
    init(net, 4);
    RMSprop<float> opt;
    study::Recorder<Tiny<float>> recorder(net, probe.x, probe.y, dir.path);
    FitDiagnostics d;
    d.inference_train_samples = 20;
    const History h = fit(net, opt, samples_of(data.x, data.y), samples_of(data.x, data.y), quiet(2),
                          recorder.diagnostics(d));
    recorder.write();
    const Reference ref(parameters_of(net), probe.x, probe.y);  // the last epoch's probe

    const std::vector<Event> events = decode_events(dir.path);
    // file_version, then per epoch 6 scalars and 6 histograms
    REQUIRE(events.size() == 1 + 2 * 12);
    const std::vector<std::string> scalars = {"loss", "accuracy", "val_loss", "val_accuracy", "train_loss_inference",
                                              "train_accuracy_inference"};
    const std::vector<std::pair<std::string, const Tensor*>> histograms = {
        {"dense/kernel_0_grad", &ref.dW1},          {"dense/bias_0_grad", &ref.db1},
        {"batch_normalization/gamma_0_grad", &ref.dgamma}, {"batch_normalization/beta_0_grad", &ref.dbeta},
        {"dense_1/kernel_0_grad", &ref.dW2},        {"dense_1/bias_0_grad", &ref.db2}};
    for (std::size_t e = 0; e < 2; ++e) {
        const EpochRecord& r = h.epochs[e];
        const double values[] = {r.loss, r.accuracy, r.val_loss, r.val_accuracy, r.train_loss_inference,
                                 r.train_accuracy_inference};
        for (std::size_t k = 0; k < 6; ++k) {
            const Event& ev = events[1 + 12 * e + k];
            CAPTURE(ev.json);
            CHECK(ev.number("step") == double(e + 1));
            CHECK(ev.text("tag") == scalars[k]);
            CHECK(ev.number("simple_value") == doctest::Approx(double(float(values[k]))));
        }
        for (std::size_t k = 0; k < 6; ++k) {
            const Event& ev = events[1 + 12 * e + 6 + k];
            CAPTURE(ev.json);
            CHECK(ev.number("step") == double(e + 1));
            CHECK(ev.text("tag") == histograms[k].first);
            CHECK(ev.number("num") == double(histograms[k].second->v.size()));
            if (e == 1) {  // the probe's gradient with the final parameters, not a training batch's
                const Tensor& g = *histograms[k].second;
                const double scale = g.l2() + 1e-3 * ref.dW1.l2();
                CHECK(near<float>(ev.number("sum"), g.sum(), scale * std::sqrt(double(g.v.size()))));
                CHECK(near<float>(ev.number("max"), *std::max_element(g.v.begin(), g.v.end()), scale));
                CHECK(near<float>(ev.number("sum_squares"), g.l2() * g.l2(), scale * scale));
            }
        }
    }
}

TEST_CASE("a network without BatchNorm writes no bn_stats.csv; a probe whose labels do not match is refused") {
    const TempDir dir("recorder_plain");
    const Probe<float> probe;
    Sequential<Dense<3, 4>, ReLU, Dense<4, 2>> net;
    init(net, 1);
    const study::ProbeBatch<float> first4(probe.x, probe.y, 4);
    study::Recorder<decltype(net)> recorder(net, first4, dir.path);
    recorder.write();
    CHECK(fs::exists(dir / "gradients.csv"));
    CHECK(fs::exists(dir / "probe.csv"));
    CHECK_FALSE(fs::exists(dir / "bn_stats.csv"));
    CHECK(read_csv(dir / "gradients.csv").size() == 3 * 2 + 4);
    const std::vector<int> short_labels = {0, 1};
    const TempDir other("recorder_refused");
    CHECK_THROWS_WITH_AS(study::Recorder<decltype(net)>(net, probe.x, short_labels, other.path / "run"),
                         "study::Recorder: the probe batch has 6 rows but 2 labels", std::invalid_argument);
    CHECK_FALSE(fs::exists(other.path / "run"));  // refused before anything was created
}
