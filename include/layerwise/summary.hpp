// layerwise/summary.hpp — a Keras-like table of a network: each layer's name and type,
// output shape and parameter count, then the totals Keras prints. The rows are the layers as
// written in the type (a fused pair shows as its two layers), named by a
// naming policy (visit.hpp): summary<io::KerasNaming>(net, os) shows Keras' classes.
#pragma once

#include "visit.hpp"

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace layerwise {

/// A network's parameter counts, as Keras prints them under its summary.
struct ParameterTotals {
    std::size_t total = 0;      ///< every parameter, moving statistics included
    std::size_t trainable = 0;  ///< those an optimizer updates
    /// total - trainable: those no optimizer updates (BatchNorm's moving statistics).
    std::size_t non_trainable() const { return total - trainable; }
};

/// Counts the parameters of net as Keras does (moving statistics are non-trainable).
template <class Net>
ParameterTotals count_parameters(Net& net) {
    ParameterTotals t;
    for_each_parameter(net, [&](const ParameterInfo& p, auto& value, auto&) {
        t.total += value.size();
        if (p.trainable) t.trainable += value.size();
    });
    return t;
}

namespace detail {
// 493834 -> "493,834"
inline std::string with_thousands(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// " dense_3 (Dense)" and "(None, 128)"
inline std::string layer_cell(const LayerInfo& li) {
    std::string cell = " ";
    cell.append(li.name).append(" (").append(li.type).append(")");
    return cell;
}

inline std::string shape_cell(std::size_t width) {
    std::string cell = "(None, ";
    cell.append(width == any_width ? std::string("?") : std::to_string(width)).append(")");
    return cell;
}

inline std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}
}  // namespace detail

/// Writes to os a Keras-like table of net (the top of this file): each leaf layer's name and
/// type as Naming calls them, output shape and parameter count, then the totals.
template <class Naming = DefaultNaming, class Net>
void summary(Net& net, std::ostream& os, std::string_view model_name = "sequential") {
    struct Row {
        std::string layer, shape;
        std::size_t params;
    };
    std::vector<Row> rows;
    for_each_layer<Naming>(net, [&](auto& layer, const LayerInfo& li) {
        std::size_t params = 0;
        layer.visit_parameters([&](std::string_view, auto& value, auto&, bool, auto...) { params += value.size(); });
        rows.push_back({detail::layer_cell(li), detail::shape_cell(li.out_width), params});
    });
    std::size_t first = std::string_view(" Layer (type)").size();
    for (const Row& r : rows) first = std::max(first, r.layer.size());
    first += 2;
    const std::size_t second = 26, width = first + second + 9;
    const std::string rule(width, '_'), double_rule(width, '=');
    os << "Model: \"" << model_name << "\"\n" << rule << "\n";
    os << detail::pad(" Layer (type)", first) << detail::pad("Output Shape", second) << "Param #\n" << double_rule << "\n";
    for (const Row& r : rows) os << detail::pad(r.layer, first) << detail::pad(r.shape, second) << r.params << "\n";
    const ParameterTotals t = count_parameters(net);
    os << double_rule << "\n"
       << "Total params: " << detail::with_thousands(t.total) << "\n"
       << "Trainable params: " << detail::with_thousands(t.trainable) << "\n"
       << "Non-trainable params: " << detail::with_thousands(t.non_trainable()) << "\n"
       << rule << "\n";
}

}  // namespace layerwise
