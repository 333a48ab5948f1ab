// docs/guide.md, section 4: write your own layer and check its gradients by finite
// differences. Compiled and run as the test guide.custom_layer.
#include <layerwise/core.hpp>

#include <cstdio>

using namespace layerwise;

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
    static constexpr std::string_view keras_name = "scale";  // names in summary() and .npz files
    static constexpr std::string_view keras_class = "Scale";

    Vector<T> s = zeros<T>(N);   // s: (N)
    Vector<T> ds = zeros<T>(N);  // ds: (N)

    const Matrix<T>& forward(const Matrix<T>& x, Mode /*mode*/) {
        x_ = &x;  // kept for backward: forward's input must stay alive until then
        ensure_shape(y_, x.shape(0), N);
        for (std::size_t i = 0; i < x.shape(0); ++i)
            for (std::size_t j = 0; j < N; ++j) y_(i, j) = s(j) * x(i, j);  // y = s x
        return y_;
    }
    LAYERWISE_FORWARD_NEEDS_NAMED_INPUT(T)  // a temporary input is a compile error, not a dangling pointer

    const Matrix<T>& backward(const Matrix<T>& dy) {
        const Matrix<T>& x = *x_;
        ensure_shape(dx_, dy.shape(0), N);
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
        f("scale", s, ds, /*trainable=*/true, Initializer::ones);  // init() sets s = 1
    }

private:
    const Matrix<T>* x_ = nullptr;  // x: (B x N), owned upstream
    Matrix<T> y_, dx_;              // y, dx: (B x N)
};

int main() {
    // Any layer, yours included, composes with the library's.
    using Net = Sequential<Dense<8, 16>, Scale<16>, ReLU, Dense<16, 4>>;
    Net net;
    init(net, 3);
    static_assert(Net::parameter_count == 8 * 16 + 16 + 16 + 16 * 4 + 4);

    // The check: backward against central differences, in double.
    Scale<16, double> layer;
    init(layer, 5);
    for (std::size_t j = 0; j < 16; ++j) layer.s(j) = 0.5 + 0.1 * double(j);
    const Matrix<double> x = zeros<double>(6, 16) + 0.25;  // a named input (it must outlive backward)
    const GradientCheck check = check_gradients(layer, x);
    for (const auto& t : check.tensors)
        std::printf("%-12s relative error %.2e over %zu elements\n", t.name.c_str(), t.relative_error, t.checked);
    return check.worst() < 1e-6 ? 0 : 1;
}
