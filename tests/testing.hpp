// Helpers shared by the tests: random matrices and the gradient-check assertion.
#pragma once

#include <doctest/doctest.h>
#include <layerwise/gradient_check.hpp>
#include <layerwise/init.hpp>

#include <random>
#include <sstream>

namespace layerwise::testing {

/// A (rows x cols) matrix of uniform numbers in [lo, hi), reproducible from seed.
template <class T = double>
Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = -1, double hi = 1) {
    std::mt19937_64 rng(seed);
    Matrix<T> m = Matrix<T>::from_shape({rows, cols});
    for (auto& v : m) v = static_cast<T>(lo + (hi - lo) * uniform01(rng));
    return m;
}

/// Runs check_gradients and requires every tensor's relative error below tolerance,
/// naming the worst tensor when it fails.
template <class L>
void require_gradients(L& layer, const Matrix<typename L::scalar_type>& x, Mode mode = Mode::train,
                       double tolerance = 1e-6) {
    const GradientCheck check = check_gradients(layer, x, mode);
    std::ostringstream report;
    for (const auto& t : check.tensors) report << t.name << ": " << t.relative_error << " over " << t.checked << "\n";
    INFO(report.str());
    REQUIRE(check.tensors.size() >= 1);
    for (const auto& t : check.tensors) CHECK(t.checked > 0);
    CHECK(check.worst() < tolerance);
}

}  // namespace layerwise::testing
