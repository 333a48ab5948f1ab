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
#include <string_view>
#include <vector>

namespace layerwise {

/// Per-parameter slots (accumulators) for an optimizer: Slots vectors for each trainable
/// parameter, allocated on the first step and reused (the top of this file).
template <class T, std::size_t Slots>
class OptimizerState {
public:
    using value_type = T;  ///< the accumulators' scalar type
    static constexpr std::size_t slot_count = Slots;  ///< accumulators per trainable parameter
    /// The accumulators of one trainable parameter: Slots vectors of its size.
    using Accumulators = std::array<std::vector<T>, Slots>;

    /// names: what each slot is called in a checkpoint ("m", "v"; io/training_state.hpp).
    explicit OptimizerState(std::array<std::string_view, Slots> names) : names_(names) {}

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

    /// Drops every accumulator: the next step starts them again at zero.
    void reset() { slots_.clear(); }

    /// For checkpoints: the accumulators, one entry per trainable parameter in the order of
    /// for_each_parameter (empty before the first step), and the slots' names.
    ///@{
    std::vector<Accumulators>& accumulators() { return slots_; }
    const std::array<std::string_view, Slots>& names() const { return names_; }
    ///@}

private:
    std::vector<Accumulators> slots_;  // slots_[parameter][slot]: (n)
    std::array<std::string_view, Slots> names_;
};

}  // namespace layerwise
