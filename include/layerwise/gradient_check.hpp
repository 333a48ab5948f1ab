// layerwise/gradient_check.hpp — checks any layer's backward against finite differences
// (what dlib calls test_layer), so that a user's own layer is tested like ours.
//
// The scalar loss is L(x) = sum_ij r_ij * layer(x)_ij for a fixed random r, so
// dL/dy = r and backward(r) must return dL/dx and leave dL/dtheta in the gradients.
// Each is compared with central differences
//     dL/dv ~ (L(v + h) - L(v - h)) / (2h)
// tensor by tensor, by the relative error ||a - n|| / max(||a|| + ||n||, floor), with a the
// analytic and n the numeric gradient. The floor, 1e-2 times the largest analytic norm of
// the check, keeps a gradient that is exactly zero (a bias before BatchNorm, which the
// normalisation cancels) from dividing rounding noise by zero; any real error in a tensor
// whose gradient is not negligible still shows at full size.
// Use it on a layer rebound to double (Layer::rebind<double>); in float the differences
// are too coarse to say anything below 1e-3.
//
//   GradientCheck c = check_gradients(layer, x);   std::cout << c;   // one line per tensor
//   require_gradients_match(layer, x, 1e-6);       // in a test: throws, naming the worst tensor
#pragma once

#include "visit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace layerwise {

/// How far one tensor's analytic gradient is from the numeric one.
struct GradientError {
    std::string name;            ///< "input" or the parameter's Keras-style name
    double relative_error = 0;   ///< ||a - n|| / max(||a|| + ||n||, floor), see the top of the file
    std::size_t checked = 0;     ///< how many elements were compared
};

/// What check_gradients returns: the relative error of each tensor it checked.
struct GradientCheck {
    std::vector<GradientError> tensors;  ///< the input first, then every trainable parameter
    /// The largest relative error of the tensors, NaN if any is NaN (0 when there are none).
    double worst() const { return tensors.empty() ? 0.0 : worst_tensor().relative_error; }
    /// The tensor with the largest relative error; throws std::logic_error when there are none.
    const GradientError& worst_tensor() const {
        if (tensors.empty()) throw std::logic_error("layerwise: GradientCheck: no tensor was checked");
        // A NaN error (a NaN gradient) is the worst of all: ordered above every number.
        return *std::max_element(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
            return !std::isnan(a.relative_error) && (std::isnan(b.relative_error) || a.relative_error < b.relative_error);
        });
    }
    /// One line per tensor, "  dense/kernel  relative error 3.1e-10  (400 elements)", the
    /// worst marked with "<- worst".
    std::string report() const {
        std::size_t width = 0;
        for (const auto& t : tensors) width = std::max(width, t.name.size());
        std::string out;
        for (const auto& t : tensors) {
            char line[128];
            std::snprintf(line, sizeof line, "  relative error %.3g  (%zu elements)%s\n", t.relative_error, t.checked,
                          &t == &worst_tensor() ? "  <- worst" : "");
            out += "  " + t.name + std::string(width - t.name.size(), ' ') + line;
        }
        return out;
    }
};

/// Writes check.report(): one line per tensor.
inline std::ostream& operator<<(std::ostream& os, const GradientCheck& check) { return os << check.report(); }

namespace detail {
struct Compared {
    std::string name;
    std::vector<double> analytic, numeric;
};

inline double norm(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

inline GradientCheck relative_errors(const std::vector<Compared>& compared) {
    double largest = 0;
    for (const auto& c : compared) largest = std::max(largest, norm(c.analytic));
    const double floor = 1e-2 * largest;
    GradientCheck result;
    for (const auto& c : compared) {
        std::vector<double> diff(c.analytic.size());
        for (std::size_t k = 0; k < diff.size(); ++k) diff[k] = c.analytic[k] - c.numeric[k];
        const double denom = std::max(norm(c.analytic) + norm(c.numeric), floor);
        result.tensors.push_back({c.name, denom == 0 ? 0 : norm(diff) / denom, c.analytic.size()});
    }
    return result;
}
}  // namespace detail

/// Compares layer.backward with central differences at input x, in `mode`. At most
/// `max_elements` elements of each tensor are compared (a fixed random subset beyond that).
template <class L>
GradientCheck check_gradients(L& layer, const Matrix<typename L::scalar_type>& x, Mode mode = Mode::train,
                              double h = 1e-6, std::uint64_t seed = 7, std::size_t max_elements = 400) {
    using T = typename L::scalar_type;
    std::mt19937_64 rng(seed);
    auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0; };

    Matrix<T> r;  // dL/dy: fixed random weights
    {
        const Matrix<T>& y = layer.forward(x, mode);
        r = Matrix<T>::from_shape({y.shape(0), y.shape(1)});
        for (auto& v : r) v = static_cast<T>(uniform());
    }
    auto loss = [&](const Matrix<T>& input) {
        const Matrix<T>& y = layer.forward(input, mode);
        double s = 0;
        for (std::size_t k = 0; k < y.size(); ++k) s += static_cast<double>(y.data()[k]) * static_cast<double>(r.data()[k]);
        return s;
    };
    auto pick = [&](std::size_t n) {
        std::vector<std::size_t> idx(n);
        for (std::size_t k = 0; k < n; ++k) idx[k] = k;
        if (n > max_elements) {
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(max_elements);
        }
        return idx;
    };

    // Analytic gradients: one forward, one backward; copy them before probing.
    layer.forward(x, mode);
    const Matrix<T> dx = layer.backward(r);
    std::vector<std::vector<double>> dparams;
    for_each_parameter(layer, [&](const ParameterInfo& p, auto&, auto& grad) {
        if (p.trainable) dparams.emplace_back(grad.begin(), grad.end());
    });

    std::vector<detail::Compared> compared;
    {  // the input
        Matrix<T> xp = x;
        std::vector<double> a, n;
        for (std::size_t k : pick(x.size())) {
            const T saved = xp.data()[k];
            xp.data()[k] = saved + static_cast<T>(h);
            const double up = loss(xp);
            xp.data()[k] = saved - static_cast<T>(h);
            const double down = loss(xp);
            xp.data()[k] = saved;
            a.push_back(static_cast<double>(dx.data()[k]));
            n.push_back((up - down) / (2 * h));
        }
        compared.push_back({"input", std::move(a), std::move(n)});
    }
    std::size_t t = 0;
    for_each_parameter(layer, [&](const ParameterInfo& p, auto& value, auto&) {
        if (!p.trainable) return;
        std::vector<double> a, n;
        for (std::size_t k : pick(value.size())) {
            const T saved = value.data()[k];
            value.data()[k] = saved + static_cast<T>(h);
            const double up = loss(x);
            value.data()[k] = saved - static_cast<T>(h);
            const double down = loss(x);
            value.data()[k] = saved;
            a.push_back(dparams[t][k]);
            n.push_back((up - down) / (2 * h));
        }
        compared.push_back({std::string(p.name), std::move(a), std::move(n)});
        ++t;
    });
    layer.forward(x, mode);  // leave the layer as it was after the analytic pass
    return detail::relative_errors(compared);
}

/// An input that is not a named Matrix of the layer's scalar type: check_gradients leaves the
/// layer holding a reference to x, so this is a compile error (see LAYERWISE_FORWARD_NEEDS_NAMED_INPUT).
template <class L, class X>
    requires(!NamedInput<X, typename L::scalar_type>)
GradientCheck check_gradients(L&, X&&, Mode = Mode::train, double = 1e-6, std::uint64_t = 7, std::size_t = 400) {
    static_assert(detail::dangling_input<X>,
                  "layerwise: check_gradients(layer, x) leaves the layer holding a reference to x, so x must be "
                  "a named Matrix of the layer's scalar type: not a temporary, not an expression, not a Matrix of "
                  "another scalar type");
    throw 0;
}

/// check_gradients(layer, x, mode), for a user's own tests: throws std::runtime_error naming the
/// worst tensor and listing all of them when any relative error exceeds `tolerance`.
template <class L, class X>
void require_gradients_match(L& layer, X&& x, double tolerance, Mode mode = Mode::train) {
    const GradientCheck check = check_gradients(layer, std::forward<X>(x), mode);
    const GradientError& worst = check.worst_tensor();
    if (!(worst.relative_error <= tolerance)) {  // NaN fails too
        char head[160];
        std::snprintf(head, sizeof head, "relative error %.3g > tolerance %.3g", worst.relative_error, tolerance);
        throw std::runtime_error("layerwise: the gradient of " + worst.name +
                                 " does not match finite differences: " + head + "\n" + check.report());
    }
}

}  // namespace layerwise
