// layerwise/deploy/embedded.hpp — a network's parameters compiled into the program.
//
// layerwise-embed (examples/layerwise_embed.cpp) turns a checkpoint into a header of constant
// arrays, one per parameter, and a table of them in walk order:
//
//   layerwise-embed model.npz --name my_model > my_model.hpp
//
//   #include "my_model.hpp"
//   seed::BnMlp<25> net;                                   // the checkpoint's network type
//   if (!deploy::load_embedded(net, my_model::parameters)) // copies by name: no file, no throw
//       return 1;                                          // another network: nothing copied
//   auto deployed = freeze(net);                           // BatchNorm folded into Dense
//   deployed.forward(x, Mode::inference);                  // after the first call of a batch
//                                                          // size: no heap allocation
//
// load_embedded compares every parameter's name and size with the table first and copies
// only when all agree, so a header from another network leaves net as it was. It neither
// throws nor allocates, and needs neither the io component nor a file system.
#pragma once

#include "../visit.hpp"

#include <cstddef>
#include <span>
#include <type_traits>
#include <string_view>

namespace layerwise::deploy {

/// One parameter compiled into the program: its name ("dense_3/kernel") and its values,
/// row-major as the network keeps them.
template <class T>
struct EmbeddedParameter {
    std::string_view name;  ///< as for_each_parameter names it
    const T* data;          ///< size values
    std::size_t size;       ///< the number of values
};

/// Copies the embedded parameters into net, matched in walk order by name and size (the
/// top of this file). Returns false, leaving net unchanged, when the table is not net's: a
/// name, a size or the count differs.
template <class Net, class T>
[[nodiscard]] bool load_embedded(Net& net, std::span<const EmbeddedParameter<T>> table) noexcept {
    static_assert(std::is_same_v<T, typename Net::scalar_type>,
                  "layerwise: load_embedded: the embedded parameters have another scalar type than the network");
    std::size_t k = 0;
    bool same = true;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        same = same && k < table.size() && table[k].name == p.name && table[k].size == value.size();
        ++k;
    });
    if (!same || k != table.size()) return false;
    k = 0;
    for_each_parameter(net, [&](const ParameterInfo&, auto& value, auto&) {
        const EmbeddedParameter<T>& e = table[k++];
        for (std::size_t i = 0; i < e.size; ++i) value.data()[i] = e.data[i];
    });
    return true;
}

/// The same for a table given as a C array.
template <class Net, class T, std::size_t N>
[[nodiscard]] bool load_embedded(Net& net, const EmbeddedParameter<T> (&table)[N]) noexcept {
    return load_embedded(net, std::span<const EmbeddedParameter<T>>(table, N));
}

}  // namespace layerwise::deploy
