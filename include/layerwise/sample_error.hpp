// layerwise/sample_error.hpp — an error in one sample of the caller's data, naming its row.
//
// A loss sees one batch, so it can say only which row of the batch is bad. fit, evaluate and
// predict catch its SampleError and throw one that names the row in the data set the caller
// passed (for fit, the row before shuffling), so that the message points at the row to fix:
//   layerwise: SoftmaxCrossEntropy: sample 116 of the batch: label 4 is outside [0, 4)
//   layerwise: fit: sample 17 of the training set: label 4 is outside [0, 4)
//   layerwise: predict: sample 3: feature 781 is NaN
// Samples are counted from 0, as the rows of the caller's arrays are indexed.
#pragma once

#include "matrix_view.hpp"
#include "pack.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace layerwise {

/// A sample that cannot be used: a label outside the classes, a feature or a target that is NaN
/// or infinite. sample() is its row (0-based) in what the thrower was given; problem() says
/// what is wrong with it, without the row.
class SampleError : public std::invalid_argument {
public:
    /// what(): "layerwise: <who>: sample <sample><of>: <problem>", of e.g. " of the batch".
    SampleError(const std::string& who, std::size_t sample, const std::string& of, std::string problem)
        : std::invalid_argument("layerwise: " + who + ": sample " + std::to_string(sample) + of + ": " + problem),
          sample_(sample), problem_(std::move(problem)) {}

    /// The row of the bad sample, counted from 0.
    std::size_t sample() const { return sample_; }
    /// What is wrong with it ("label 4 is outside [0, 4)").
    const std::string& problem() const { return problem_; }

private:
    std::size_t sample_;
    std::string problem_;
};

/// Throws SampleError(who, first_row + i, of, "feature j is NaN") for the first row i of x that
/// holds a NaN or an infinity (`noun` names the columns: "feature", "target").
template <class T>
void require_finite_rows(MatrixView<T> x, const std::string& who, std::size_t first_row, const std::string& of,
                         const char* noun = "feature") {
    if (detail::all_finite(x.data(), x.size())) return;  // the common case: one pass in packs
    const std::size_t cols = x.cols();
    for (std::size_t k = 0; k < x.size(); ++k) {
        const T v = x.data()[k];
        if (!std::isfinite(v))
            throw SampleError(who, first_row + k / cols, of,
                              std::string(noun) + " " + std::to_string(k % cols) + " is " +
                                  (std::isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf"));
    }
}

}  // namespace layerwise
