// docs/guide.md, section 4 (Writing your own layer): a layer of your own, with no name and
// no Keras member, that composes with the library's layers, checks its gradients by finite
// differences, trains with fit, predicts, and saves and loads through .npz under the name the
// walk gives it ("layer/scale"). Compiled and run as the test guide.custom_layer.
#include <layerwise/core.hpp>
#include <layerwise/io/npz.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

namespace lw = layerwise;
using lw::Matrix, lw::Mode, lw::Vector;

// A learnable per-feature scale:   y_ij = s_j x_ij
//                                  ds_j = sum_i dy_ij x_ij,   dx_ij = dy_ij s_j
template <std::size_t N, class T = float>
class Scale {
public:
    using scalar_type = T;
    template <class U>
    using rebind = Scale<N, U>;  // the same layer in another scalar (check_gradients wants double)
    static constexpr std::size_t in_features = N;
    static constexpr std::size_t out_features = N;
    static constexpr std::size_t parameter_count = N;

    Vector<T> s = lw::zeros<T>(N);   // s: (N)
    Vector<T> ds = lw::zeros<T>(N);  // ds: (N)

    const Matrix<T>& forward(const Matrix<T>& x, Mode /*mode*/) {
        x_ = &x;  // kept for backward: forward's input must stay alive until then
        lw::ensure_shape(y_, x.shape(0), N);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) y_(i, j) = s(j) * x(i, j);  // y = s x
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)  // a temporary input is a compile error, not a dangling pointer

    const Matrix<T>& backward(const Matrix<T>& dy) {
        const Matrix<T>& x = *x_;
        lw::ensure_shape(dx_, dy.shape(0), N);
        ds.fill(T(0));
        for (std::size_t i = 0; i < dy.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) {
                ds(j) += dy(i, j) * x(i, j);  // ds = sum_i dy x
                dx_(i, j) = dy(i, j) * s(j);  // dx = dy s
            }
        return dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
        f("scale", s, ds, /*trainable=*/true, lw::Initializer::ones);  // init() sets s = 1
    }

    void forget_input() { x_ = nullptr; }  // fit and predict call it before their batches die

private:
    const Matrix<T>* x_ = nullptr;  // x: (B x N), owned upstream
    Matrix<T> y_, dx_;              // y, dx: (B x N)
};

int main() {
    // Any layer, yours included, composes with the library's.
    using Net = lw::Sequential<lw::Dense<2, 16>, Scale<16>, lw::ReLU, lw::Dense<16, 3>>;
    static_assert(Net::parameter_count == 2 * 16 + 16 + 16 + 16 * 3 + 3);

    // The check: backward against central differences, in double.
    Scale<16, double> layer;
    lw::init(layer, 5);
    for (std::size_t j = 0; j < 16; ++j) layer.s(j) = 0.5 + 0.1 * double(j);
    const Matrix<double> x = lw::zeros<double>(6, 16) + 0.25;  // a named input (it must outlive backward)
    std::cout << lw::check_gradients(layer, x);  // one line per tensor, the worst marked
    lw::require_gradients_match(layer, x, 1e-6);  // throws, naming the worst tensor, if one is off

    // Training: three classes of points, by the sign of x0 and of x1 (x1 only where x0 < 0).
    const std::size_t n = 600;
    Matrix<float> points = lw::zeros<float>(n, 2);
    std::vector<int> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const float a = std::sin(0.37f * float(i)), b = std::cos(0.91f * float(i));
        points(i, 0) = a;
        points(i, 1) = b;
        labels[i] = a >= 0 ? 0 : b >= 0 ? 1 : 2;
    }
    Net net;
    lw::init(net, 3);
    lw::RMSprop<float> optimizer;
    optimizer.learning_rate = 0.01f;
    lw::FitOptions options;
    options.epochs = 30;
    options.batch_size = 32;
    options.verbosity = lw::Verbosity::quiet;
    const lw::History history = lw::fit(net, optimizer, {points, labels}, {points, labels}, options);
    const double accuracy = history.epochs.back().val_accuracy;
    std::printf("accuracy after %zu epochs: %.3f\n", history.epochs.size(), accuracy);
    if (accuracy < 0.9) return 1;

    // Saved and loaded under the names the walk gives it: "layer/scale" (no name member).
    lw::for_each_parameter(net, [](const lw::ParameterInfo& p, auto&, auto&) {
        std::printf("  %.*s\n", int(p.name.size()), p.name.data());
    });
    lw::io::save_npz(net, "guide_custom_layer.npz");
    Net restored;
    lw::io::load_npz(restored, "guide_custom_layer.npz");
    const bool same = lw::predict(restored, points) == lw::predict(net, points);
    std::printf("restored network predicts the same classes: %s\n", same ? "yes" : "no");
    return same ? 0 : 1;
}
