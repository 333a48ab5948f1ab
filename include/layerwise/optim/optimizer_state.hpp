// layerwise/optim/optimizer_state.hpp — per-parameter slots (accumulators) for optimizers.
//
// An optimizer walks the trainable parameters with for_each_parameter and keeps, for
// the k-th one, Slots vectors of the same size. They are allocated on the first step
// and reused afterwards, so a training step allocates nothing.
#pragma once

#include "../parallel.hpp"
#include "../visit.hpp"

#include <array>
#include <cstddef>
#include <vector>

namespace layerwise {

template <class T, std::size_t Slots>
class OptimizerState {
public:
    /// Calls f(value_data, grad_data, n, slots) for each trainable parameter, where slots
    /// is an array of Slots pointers to n accumulators (zero-initialised on first use).
    /// With set_threads(n > 1), a large parameter is cut into bands and f runs on them
    /// concurrently (value + first, ..., last - first): f must be element-wise and write
    /// nothing but its own band.
    template <class Net, class F>
    void for_each_trainable(Net& net, F&& f) {
        std::size_t k = 0;
        for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto& grad) {
            if (!p.trainable) return;  // moving statistics are never touched by an optimizer
            if (k == slots_.size()) slots_.emplace_back();
            auto& s = slots_[k++];
            std::array<T*, Slots> ptr{};
            for (std::size_t j = 0; j < Slots; ++j) {
                if (s[j].size() != value.size()) s[j].assign(value.size(), T(0));
                ptr[j] = s[j].data();
            }
            parallel_elementwise(value.size(), 1, [&](std::size_t, std::size_t first, std::size_t last) {
                std::array<T*, Slots> band;
                for (std::size_t j = 0; j < Slots; ++j) band[j] = ptr[j] + first;
                f(value.data() + first, grad.data() + first, last - first, band);
            });
        });
    }

    void reset() { slots_.clear(); }

private:
    std::vector<std::array<std::vector<T>, Slots>> slots_;  // slots_[parameter][slot]: (n)
};

}  // namespace layerwise
