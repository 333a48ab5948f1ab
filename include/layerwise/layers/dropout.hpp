// layerwise/layers/dropout.hpp — dropout (Srivastava et al. 2014) and alpha dropout (Klambauer
// et al. 2017), any width.
//
//   inference: y = x, dx = dy
//   train:     m_ij in {0, 1} with P(m = 0) = rate, drawn anew by every train-mode forward
//     Dropout       y = x m / (1 - rate)                      dx = dy m / (1 - rate)
//                   (inverted scaling: the expected output is x, so inference needs no scaling)
//     AlphaDropout  y = a (x m + alpha' (1 - m)) + b          dx = a m dy
//                   alpha' = -scale alpha of SELU (selu_fn),  q = 1 - rate,
//                   a = (q + alpha'^2 q (1 - q))^(-1/2),      b = -a alpha' (1 - q)
//                   (a dropped unit takes SELU's saturation value alpha', and a, b restore the
//                   mean 0 and variance 1 of a standardised input: as torch.nn.functional.alpha_dropout)
//
// The mask is counter-based: for the layer's seed s, its draw counter c and the element's
// index k in the (B x N) batch (row-major),
//     key = mix(mix(s) + c),   u_k = (mix(key + (k + 1) g) >> 11) 2^-53 in [0, 1),   m_k = u_k >= rate
// with mix SplitMix64's finaliser and g = 0x9e3779b97f4a7c15, its increment (u_k comes from
// output k + 1 of a SplitMix64 generator seeded with key). Every element's bit depends only on
// (s, c, k): the same seed gives the same masks, bit for bit, whichever thread draws which rows
// and however many threads there are. The counter advances by one at each train-mode forward
// that draws; seed(s) sets s and resets c, and visit_state exposes s and c, so that a checkpoint
// that saves and restores them resumes the same sequence of masks.
//
// hold_mask = true makes a train-mode forward reuse the last mask instead of drawing one (the
// counter stays): what a finite-difference gradient check needs, since its loss must be one
// function of x, probed by many forwards.
#pragma once

#include "../concepts.hpp"
#include "../parallel.hpp"
#include "activation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace layerwise {

namespace detail {
// SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijection of 64-bit words whose output
// bits each depend on every input bit.
constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
inline constexpr std::uint64_t splitmix_increment = 0x9e3779b97f4a7c15ULL;
}  // namespace detail

/// What Dropout and AlphaDropout share (the top of this file): the rate, the seed and draw
/// counter, the last mask and drawing it, the identity of inference mode, and the backward
/// dx = s m dy that both have (s their scale).
template <class T>
class DropoutMask {
public:
    double rate;             ///< P(m = 0), in [0, 1); checked at construction and at every forward
    bool hold_mask = false;  ///< true: a train-mode forward reuses the last mask instead of drawing
                             ///< (for finite-difference gradient checks; the top of this file)

    /// Sets the layer's seed and resets its draw counter (a network's init calls it).
    void seed(std::uint64_t s) {
        seed_ = s;
        draws_ = 0;
    }
    /// How many masks the layer has drawn since seed(): the counter of the top of this file.
    std::uint64_t draws() const { return draws_; }
    /// Calls f("seed", s) and f("draws", counter), each a std::uint64_t&, so that a training
    /// checkpoint can save and restore them.
    template <class F>
    void visit_state(F&& f) {
        f(std::string_view("seed"), seed_);
        f(std::string_view("draws"), draws_);
    }

    /// The last mask, 0 or 1 per element: (B x N) (empty before the first train-mode forward).
    const Matrix<T>& mask() const { return mask_; }

    /// The output of the last forward and the input gradient of the last backward,
    /// for diagnostics (the signal going forward and the error going backward).
    const Matrix<T>& output() const { return y_; }
    /// The input gradient of the last backward (see output()).
    const Matrix<T>& input_gradient() const { return dx_; }

    /// Visits nothing: dropout has no parameters.
    template <class F>
    void visit_parameters(F&&) {}

    /// Whether element k (row-major) is kept by the mask of draw number `draw` under seed s at
    /// this rate: the formula of the top of this file, for code that checks or reproduces masks.
    static bool keeps(std::uint64_t s, std::uint64_t draw, std::size_t k, double rate) {
        return kept(stream_key(s, draw), k, rate);
    }

protected:
    /// Rate r, checked (`who` names the layer in the error).
    explicit DropoutMask(double r, std::string_view who) : rate(r) { check_rate(who); }

    /// Throws std::invalid_argument naming the rate unless 0 <= rate < 1.
    void check_rate(std::string_view who) const {
        if (!(rate >= 0 && rate < 1))
            throw std::invalid_argument("layerwise: " + std::string(who) + ": the rate must be in [0, 1), got " +
                                        detail::number_text(rate));
    }

    /// The part of a forward before the layer's own formula: checks x and the rate and sizes y.
    /// In inference mode it sets y = x and returns false; in train mode it draws the mask
    /// (next_mask) and returns true, and the layer then computes y from x and the mask.
    bool begin_forward(const Matrix<T>& x, Mode mode, std::string_view who) {
        require_rows(x, who);
        check_rate(who);
        ensure_shape(y_, x.shape(0), x.shape(1));
        train_ = mode == Mode::train;
        if (!train_) {
            std::copy(x.data(), x.data() + x.size(), y_.data());  // y = x
            return false;
        }
        next_mask(x.shape(0), x.shape(1), who);
        return true;
    }

    /// dx = s m dy with the last forward's mask (dx = dy after an inference forward);
    /// dy: (B x N) -> dx: (B x N).
    const Matrix<T>& masked_backward(const Matrix<T>& dy, T s, std::string_view who) {
        require_shape(dy, y_.shape(0), y_.shape(1), who, "dy");
        const std::size_t cols = dy.shape(1);
        ensure_shape(dx_, dy.shape(0), cols);
        const T* g = dy.data();
        T* dx = dx_.data();
        if (!train_) {
            std::copy(g, g + dy.size(), dx);  // dx = dy
            return dx_;
        }
        const T* m = mask_.data();
        parallel_elementwise(dy.shape(0), cols, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k) dx[k] = g[k] * (m[k] * s);  // dx = s m dy
        });
        return dx_;
    }

    /// The mask for a (rows x cols) input: a new draw, or, with hold_mask, the last one (which
    /// must have that shape; else std::logic_error).
    void next_mask(std::size_t rows, std::size_t cols, std::string_view who) {
        if (hold_mask) {
            if (mask_.shape(0) != rows || mask_.shape(1) != cols)
                throw std::logic_error("layerwise: " + std::string(who) + ": hold_mask is set, but the last mask has shape (" +
                                       std::to_string(mask_.shape(0)) + " x " + std::to_string(mask_.shape(1)) +
                                       ") and the input (" + std::to_string(rows) + " x " + std::to_string(cols) +
                                       "): draw one in a train-mode forward without hold_mask first");
            return;
        }
        ensure_shape(mask_, rows, cols);
        const std::uint64_t key = stream_key(seed_, draws_++);
        const double r = rate;
        T* m = mask_.data();
        parallel_elementwise(rows, cols, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k) m[k] = kept(key, k, r) ? T(1) : T(0);
        });
    }

    Matrix<T> mask_;      ///< m: (B x N), 0 or 1
    Matrix<T> y_;         ///< y: (B x N)
    Matrix<T> dx_;        ///< dx: (B x N)
    bool train_ = false;  ///< the mode of the last forward

private:
    static std::uint64_t stream_key(std::uint64_t s, std::uint64_t counter) {
        return detail::mix64(detail::mix64(s) + counter);  // key = mix(mix(s) + c)
    }
    static bool kept(std::uint64_t key, std::size_t k, double rate) {  // u_k >= rate
        const std::uint64_t bits = detail::mix64(key + (static_cast<std::uint64_t>(k) + 1) * detail::splitmix_increment);
        return static_cast<double>(bits >> 11) * 0x1.0p-53 >= rate;
    }

    std::uint64_t seed_ = 0;
    std::uint64_t draws_ = 0;
};

/// Dropout with inverted scaling (the top of this file): y = x m / (1 - rate) in train mode,
/// y = x in inference.
template <class T = float>
class Dropout : public DropoutMask<T> {
public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U (and the default rate: set it on the new layer).
    template <class U>
    using rebind = Dropout<U>;
    static constexpr std::size_t in_features = any_width;   ///< any: the output has the input's width
    static constexpr std::size_t out_features = any_width;  ///< any: the output has the input's width
    static constexpr std::size_t parameter_count = 0;       ///< none
    static constexpr std::string_view name = "dropout";     ///< the base of its names in a network (visit.hpp)

    /// Drops each unit with probability drop_rate, 0 <= drop_rate < 1 (else std::invalid_argument naming it).
    explicit Dropout(double drop_rate) : DropoutMask<T>(drop_rate, "Dropout") {}
    /// Rate 0.5. (Not explicit, unlike the one above, so that a network of layers that holds
    /// this one stays default-constructible from {}.)
    Dropout() : Dropout(0.5) {}

    /// Train: y = x m / (1 - rate) with a new mask (or the held one); inference: y = x.
    /// x: (B x N) -> y: (B x N).
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) {
        if (!this->begin_forward(x, mode, "Dropout")) return this->y_;  // inference: y = x
        scale_ = T(1) / static_cast<T>(1 - this->rate);
        const std::size_t cols = x.shape(1);
        const T* in = x.data();
        const T* m = this->mask_.data();
        T* out = this->y_.data();
        const T s = scale_;
        parallel_elementwise(x.shape(0), cols, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k) out[k] = in[k] * (m[k] * s);  // y = x m / (1 - rate)
        });
        return this->y_;
    }

    /// dx = dy m / (1 - rate) with the last forward's mask and rate (dx = dy after an inference
    /// forward); dy: (B x N) -> dx: (B x N).
    const Matrix<T>& backward(const Matrix<T>& dy) { return this->masked_backward(dy, scale_, "Dropout backward"); }

private:
    T scale_ = T(1);  // 1 / (1 - rate) of the last train-mode forward
};

/// Alpha dropout for SELU networks (the top of this file): dropped units take SELU's
/// saturation value, and an affine map keeps a standardised input's mean 0 and variance 1.
template <class T = float>
class AlphaDropout : public DropoutMask<T> {
public:
    using scalar_type = T;  ///< float or double
    /// The same layer with scalar type U (and the default rate: set it on the new layer).
    template <class U>
    using rebind = AlphaDropout<U>;
    static constexpr std::size_t in_features = any_width;   ///< any: the output has the input's width
    static constexpr std::size_t out_features = any_width;  ///< any: the output has the input's width
    static constexpr std::size_t parameter_count = 0;       ///< none
    static constexpr std::string_view name = "alpha_dropout";  ///< the base of its names in a network (visit.hpp)
    /// alpha' = -scale alpha of SELU: the value of a dropped unit before the affine map.
    static constexpr double saturation = -selu_fn::scale * selu_fn::alpha;

    /// Drops each unit with probability drop_rate, 0 <= drop_rate < 1 (else std::invalid_argument naming it).
    explicit AlphaDropout(double drop_rate) : DropoutMask<T>(drop_rate, "AlphaDropout") {}
    /// Rate 0.5. (Not explicit, unlike the one above, so that a network of layers that holds
    /// this one stays default-constructible from {}.)
    AlphaDropout() : AlphaDropout(0.5) {}

    /// Train: y = a (x m + alpha' (1 - m)) + b with a new mask (or the held one); inference:
    /// y = x. x: (B x N) -> y: (B x N).
    const Matrix<T>& forward(const Matrix<T>& x, Mode mode) {
        if (!this->begin_forward(x, mode, "AlphaDropout")) return this->y_;  // inference: y = x
        const double q = 1 - this->rate, ap = saturation;
        const double a = 1 / std::sqrt(q + ap * ap * q * (1 - q));  // a = (q + alpha'^2 q (1 - q))^(-1/2)
        const double b = -a * ap * (1 - q);                          // b = -a alpha' (1 - q)
        a_ = static_cast<T>(a);
        const T kept_shift = static_cast<T>(b), dropped_shift = static_cast<T>(a * ap + b);
        const std::size_t cols = x.shape(1);
        const T* in = x.data();
        const T* m = this->mask_.data();
        T* out = this->y_.data();
        const T s = a_;
        parallel_elementwise(x.shape(0), cols, [&](std::size_t, std::size_t first, std::size_t last) {
            for (std::size_t k = first * cols; k < last * cols; ++k)  // y = a x m + (a alpha' (1 - m) + b)
                out[k] = in[k] * (m[k] * s) + (m[k] != T(0) ? kept_shift : dropped_shift);
        });
        return this->y_;
    }

    /// dx = a m dy with the last forward's mask and a (dx = dy after an inference forward);
    /// dy: (B x N) -> dx: (B x N).
    const Matrix<T>& backward(const Matrix<T>& dy) { return this->masked_backward(dy, a_, "AlphaDropout backward"); }

private:
    T a_ = T(1);  // a of the last train-mode forward
};

}  // namespace layerwise
