// layerwise/io/keras_names.hpp — the Keras naming policy for checkpoints and summaries.
//
// Keras names a layer "<base>_k" (numbered per base in order of creation) and shows its class
// ("Dense"). The library's own layers already use Keras' bases (dense, batch_normalization,
// activation, add), so a parameter is "dense_3/kernel" under either policy and .npz files
// open in Python with the names a Keras model of the same architecture has. What this policy
// adds is the class column: Keras' class for the library's layers, the layer's own name for
// any other.
#pragma once

#include "../visit.hpp"

#include <string_view>

namespace layerwise::io {

/// The Keras naming policy (the top of this file): Keras' classes in the type column.
struct KerasNaming {
    /// The stem that gets numbered: as DefaultNaming, which already uses Keras' bases.
    template <class L>
    static constexpr std::string_view base() { return DefaultNaming::base<L>(); }

    /// Keras' class for the library's layers ("Dense", "BatchNormalization",
    /// "LayerNormalization", "Activation", "Dropout", "AlphaDropout", "Add"), the layer's own
    /// name for any other (ReZero's gate has no Keras class: "rezero").
    template <class L>
    static constexpr std::string_view type() {
        constexpr std::string_view b = base<L>();
        if constexpr (b == "dense") return "Dense";
        else if constexpr (b == "batch_normalization") return "BatchNormalization";
        else if constexpr (b == "layer_normalization") return "LayerNormalization";
        else if constexpr (b == "activation") return "Activation";
        else if constexpr (b == "dropout") return "Dropout";
        else if constexpr (b == "alpha_dropout") return "AlphaDropout";
        else if constexpr (b == "add") return "Add";
        else return DefaultNaming::type<L>();
    }
};

}  // namespace layerwise::io
