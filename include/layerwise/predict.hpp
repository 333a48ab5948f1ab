// layerwise/predict.hpp — inference: a trained network's answers for new inputs, with
// BatchNorm in Mode::inference (its moving statistics).
//
//   outputs(net, x)        y_i   = net(x_i)                  (B x C): a regression's predictions,
//                                                            or a classifier's logits
//   probabilities(net, x)  p_ik  = softmax(y_i)_k            (B x C), each row sums to 1
//   predict(net, x)        c_i   = argmax_k y_ik             (B) class indices, the first of ties
//
// x is a Matrix, or a MatrixView of the user's memory (MatrixView(pointer, rows, cols),
// rows_of(span, rows)): read in place when the network's first layer is Dense, copied batch
// by batch otherwise (Sequential::forward). It is cut into batches of batch_size rows so that
// the workspaces stay the size of one batch. In inference mode every row is computed on its
// own, so a batch of one row works and a row's answer does not depend on the rows around it.
// When they return, the layers have forgotten their input (forget_inputs): a backward after
// them is an error, not a read of x, and x may be a temporary. A row with a NaN or an infinity
// throws SampleError naming it (its answer would be NaN, and its class a silent 0).
#pragma once

#include "loss/softmax.hpp"
#include "matrix_view.hpp"
#include "sample_error.hpp"
#include "visit.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

namespace detail {
// Calls f(first, y) for each batch of up to batch_size rows of x, with y = net(rows
// [first, first + rows) of x) in Mode::inference: (rows x C). Then the layers forget x.
// `who` names the caller in messages.
template <class Net, class F>
void for_each_output_batch(Net& net, MatrixView<typename Net::scalar_type> x, std::size_t batch_size,
                           const char* who, F&& f) {
    static_assert(ViewInput<Net>, "layerwise: outputs, probabilities and predict need a network that takes a "
                                  "MatrixView: a Sequential<...> (or a Dense)");
    require_rows(x, who);
    if (batch_size == 0)
        throw std::invalid_argument("layerwise: " + std::string(who) + ": batch_size must be at least 1");
    for (std::size_t first = 0; first < x.rows(); first += batch_size) {
        const std::size_t rows = std::min(batch_size, x.rows() - first);
        const MatrixView<typename Net::scalar_type> batch = x.row_range(first, rows);
        require_finite_rows(batch, who, first, "");
        f(first, net.forward(batch, Mode::inference));
    }
    forget_inputs(net);
}

// y = net(x) for all rows, batch by batch: (B x C). `who` names the caller in messages.
template <class Net>
Matrix<typename Net::scalar_type> all_outputs(Net& net, MatrixView<typename Net::scalar_type> x,
                                              std::size_t batch_size, const char* who) {
    using T = typename Net::scalar_type;
    Matrix<T> result;  // y: (B x C)
    for_each_output_batch(net, x, batch_size, who, [&](std::size_t first, const Matrix<T>& y) {
        const std::size_t C = y.shape(1);
        if (first == 0) result = Matrix<T>::from_shape({x.rows(), C});
        std::copy(y.data(), y.data() + y.size(), result.data() + first * C);
    });
    return result;
}
}  // namespace detail

/// The network's output rows in Mode::inference: (B x C).
template <class Net>
Matrix<typename Net::scalar_type> outputs(Net& net, MatrixView<typename Net::scalar_type> x,
                                          std::size_t batch_size = 128) {
    return detail::all_outputs(net, x, batch_size, "outputs");
}

/// p = softmax of each output row (the class probabilities of a classifier whose last layer
/// gives logits, as the networks trained with SoftmaxCrossEntropy do): (B x C).
template <class Net>
Matrix<typename Net::scalar_type> probabilities(Net& net, MatrixView<typename Net::scalar_type> x,
                                                std::size_t batch_size = 128) {
    Matrix<typename Net::scalar_type> p = detail::all_outputs(net, x, batch_size, "probabilities");  // p: the outputs y ...
    const std::size_t C = p.shape(1);
    for (std::size_t i = 0; i < p.shape(0); ++i)
        softmax_row(p.data() + i * C, p.data() + i * C, C);  // ... then p_i = softmax(y_i), in place
    return p;
}

/// c_i = argmax_k y_ik: the class of each row (B), the first of equal maxima.
template <class Net>
std::vector<int> predict(Net& net, MatrixView<typename Net::scalar_type> x, std::size_t batch_size = 128) {
    using T = typename Net::scalar_type;
    std::vector<int> classes(x.rows());  // c: (B)
    detail::for_each_output_batch(net, x, batch_size, "predict", [&](std::size_t first, const Matrix<T>& y) {
        const std::size_t C = y.shape(1);
        for (std::size_t i = 0; i < y.shape(0); ++i)
            classes[first + i] = static_cast<int>(arg_max(y.data() + i * C, C));  // c_i = argmax_k y_ik
    });
    return classes;
}

// The same three on a Matrix, temporaries included (the layers forget it before it dies).

/// outputs(net, x) on a Matrix, a temporary included.
template <class Net>
Matrix<typename Net::scalar_type> outputs(Net& net, const Matrix<typename Net::scalar_type>& x,
                                          std::size_t batch_size = 128) {
    return outputs(net, MatrixView<typename Net::scalar_type>(x), batch_size);
}
/// probabilities(net, x) on a Matrix, a temporary included.
template <class Net>
Matrix<typename Net::scalar_type> probabilities(Net& net, const Matrix<typename Net::scalar_type>& x,
                                                std::size_t batch_size = 128) {
    return probabilities(net, MatrixView<typename Net::scalar_type>(x), batch_size);
}
/// predict(net, x) on a Matrix, a temporary included.
template <class Net>
std::vector<int> predict(Net& net, const Matrix<typename Net::scalar_type>& x, std::size_t batch_size = 128) {
    return predict(net, MatrixView<typename Net::scalar_type>(x), batch_size);
}

}  // namespace layerwise
