// layerwise/io/onnx_graph.hpp — writing and reading an ONNX graph one layer at a time.
//
// OnnxWriter appends a layer's nodes and initializers to a GraphProto; OnnxReader walks a
// GraphProto's nodes in file order (ONNX stores them topologically sorted) and hands each layer
// the nodes that compute it. Both number the layers as visit.hpp does, so a layer is called
// here what it is called in checkpoints ("dense_3"), an initializer is named after its
// parameter ("dense_3/kernel"), and "layer 7" in an error is for_each_layer's index 7.
//
// The reader sees through what exporters add around the data path: Constant nodes are
// constants, and an Identity node is an alias of its input (torch.onnx writes one for every
// initializer it deduplicates). It keeps what it read in a staging area; nothing reaches the
// network until commit(), so a refused file leaves the network as it was.
//
// The protobuf classes are ONNX's own, generated from onnx.proto (Debian: libonnx-dev).
#pragma once

#include "../concepts.hpp"
#include "../visit.hpp"
#include "checkpoint_error.hpp"
#include "keras_names.hpp"

#include <onnx/onnx_pb.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace layerwise::io {

static_assert(std::endian::native == std::endian::little,
              "layerwise: ONNX stores raw tensor data little-endian; this code reads and writes it as it is in memory");

/// The ONNX element type of a scalar type: FLOAT or DOUBLE.
template <class T>
constexpr onnx::TensorProto_DataType onnx_element_type() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "layerwise: ONNX export and import support networks of float or double");
    return std::is_same_v<T, float> ? onnx::TensorProto_DataType_FLOAT : onnx::TensorProto_DataType_DOUBLE;
}

/// A layer as the walk meets it: its name ("dense_3"), its index among all leaf layers
/// (visit.hpp's LayerInfo::index) and its type as a reader of C++ knows it ("Dense<128, 64>").
struct OnnxLayer {
    std::string name;
    std::size_t index = 0;
    std::string type;
    /// "Dense<128, 64> (layer 3)", for messages.
    std::string text() const { return type + " (layer " + std::to_string(index) + ")"; }
};

/// The ONNX form of a layer type: how it is written as nodes and read back (onnx_layers.hpp
/// gives the library's layers theirs). A layer of your own gets one by specialising this with
///   static std::string type();                                       "MyLayer<64>", for messages
///   static std::string write(OnnxWriter&, L&, const std::string& x); its nodes on x; returns y's name
///   static std::string read(OnnxReader&, L&, const std::string& x);  its nodes from x; returns y's name
template <class L>
struct onnx_form;

/// Whether L has an ONNX form of its own (else a composite is written as its children in order).
template <class L>
concept HasOnnxForm = requires { onnx_form<L>::type(); };

namespace detail {
template <class L>
std::string onnx_type_of() {
    if constexpr (HasOnnxForm<L>) return onnx_form<L>::type();
    else return std::string(KerasNaming::type<L>());
}
}  // namespace detail

/// Builds a graph's nodes and initializers, layer by layer (the top of this file).
class OnnxWriter {
public:
    OnnxWriter(onnx::GraphProto& graph, onnx::TensorProto_DataType element_type)
        : graph_(graph), element_type_(element_type) {}

    /// The next leaf layer of the walk, named as visit.hpp names it; call it when the walk
    /// reaches the layer (after a composite's children, as visit.hpp does).
    template <class L>
    OnnxLayer enter() {
        return {std::string(state_.namer.next(KerasNaming::base<L>())), state_.index++, detail::onnx_type_of<L>()};
    }

    /// A tensor initializer named `name` with dims and the values of a Vector or Matrix (row-major).
    template <class V>
    std::string initializer(const std::string& name, const V& values, std::vector<std::int64_t> dims) {
        using T = std::remove_cvref_t<decltype(*values.data())>;
        onnx::TensorProto& t = *graph_.add_initializer();
        t.set_name(name);
        t.set_data_type(onnx_element_type<T>());
        for (std::int64_t d : dims) t.add_dims(d);
        t.set_raw_data(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
        return name;
    }

    /// A scalar (0-D) initializer of the graph's element type.
    std::string constant(const std::string& name, double value) {
        onnx::TensorProto& t = *graph_.add_initializer();
        t.set_name(name);
        t.set_data_type(element_type_);
        if (element_type_ == onnx::TensorProto_DataType_FLOAT) {
            const float v = static_cast<float>(value);
            t.set_raw_data(reinterpret_cast<const char*>(&v), sizeof v);
        } else {
            t.set_raw_data(reinterpret_cast<const char*>(&value), sizeof value);
        }
        return name;
    }

    /// Appends node op(inputs) -> output, named `name`; returns it for attributes.
    onnx::NodeProto& node(std::string_view op, std::initializer_list<std::string> inputs, const std::string& output,
                          const std::string& name) {
        onnx::NodeProto& n = *graph_.add_node();
        n.set_op_type(std::string(op));
        n.set_name(name);
        for (const std::string& in : inputs) n.add_input(in);
        n.add_output(output);
        return n;
    }

    /// Sets a float attribute of n.
    static void attribute(onnx::NodeProto& n, const std::string& name, double value) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_FLOAT);
        a.set_f(static_cast<float>(value));
    }
    /// Sets an integer attribute of n.
    static void attribute(onnx::NodeProto& n, const std::string& name, std::int64_t value) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_INT);
        a.set_i(value);
    }

    onnx::TensorProto_DataType element_type() const { return element_type_; }
    onnx::GraphProto& graph() { return graph_; }

private:
    onnx::GraphProto& graph_;
    onnx::TensorProto_DataType element_type_;
    layerwise::detail::WalkState state_;
};

/// A constant tensor of a graph: its dims and its values (as double: exact for float and double).
struct OnnxConstant {
    std::vector<std::int64_t> dims;
    std::vector<double> values;
    std::size_t size() const { return values.size(); }
};

/// Reads a graph's nodes in order, layer by layer (the top of this file).
class OnnxReader {
public:
    OnnxReader(const onnx::GraphProto& graph, std::string file) : graph_(graph), file_(std::move(file)) {
        for (const onnx::TensorProto& t : graph.initializer()) initializers_[t.name()] = &t;
        taken_.assign(static_cast<std::size_t>(graph.node_size()), false);
        for (int k = 0; k < graph.node_size(); ++k) {
            const onnx::NodeProto& n = graph.node(k);
            if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1) {
                alias_[n.output(0)] = resolve(n.input(0));
                taken_[std::size_t(k)] = true;
            } else if (n.op_type() == "Constant" && n.output_size() == 1) {
                constant_nodes_[n.output(0)] = &n;
                taken_[std::size_t(k)] = true;
            }
        }
    }

    /// Throws CheckpointError with the file's name in front of what.
    [[noreturn]] void fail(const std::string& what) const { throw CheckpointError(file_ + ": " + what); }

    /// The value a name stands for once Identity nodes are seen through.
    std::string resolve(const std::string& name) const {
        auto it = alias_.find(name);
        return it == alias_.end() ? name : it->second;
    }

    /// The next leaf layer of the walk (OnnxWriter::enter's twin).
    template <class L>
    OnnxLayer enter() {
        return {std::string(state_.namer.next(KerasNaming::base<L>())), state_.index++, detail::onnx_type_of<L>()};
    }

    /// The next node of the data path not yet read, or nullptr at the end of the graph.
    const onnx::NodeProto* peek() const {
        const std::size_t k = next_index();
        return k < taken_.size() ? &graph_.node(int(k)) : nullptr;
    }

    /// "node 7 (Relu)" for the next node, or "the end of the graph" when there is none.
    std::string next_text() const {
        const onnx::NodeProto* n = peek();
        return n ? "node " + std::to_string(next_index()) + " (" + n->op_type() + ")" : "the end of the graph";
    }

    /// Whether the next node is an `op` that reads x.
    bool next_is(std::string_view op, const std::string& x) const {
        const onnx::NodeProto* n = peek();
        return n && n->op_type() == op && reads(*n, x);
    }

    /// Takes the next node, which must be an `op` reading x, for layer `who`; otherwise throws
    /// "node 7 (Relu) where the network has BatchNorm<128> (layer 7)".
    const onnx::NodeProto& take(std::string_view op, const std::string& x, const OnnxLayer& who) {
        const onnx::NodeProto* n = peek();
        if (!n || n->op_type() != op)
            fail(next_text() + " where the network has " + who.text() + ", which is " + std::string(op) +
                 (n == nullptr ? "" : " in ONNX"));
        if (!reads(*n, x))
            fail(next_text() + " does not read the output of the layer before " + who.text() +
                 ": the graph is not the network's chain of layers");
        if (n->output_size() < 1) fail(next_text() + " has no output");
        taken_[next_index()] = true;
        return *n;
    }

    /// The position of a node in the graph (for messages).
    std::size_t position(const onnx::NodeProto& n) const {
        for (int k = 0; k < graph_.node_size(); ++k)
            if (&graph_.node(k) == &n) return std::size_t(k);
        return 0;
    }
    /// "node 3 (Gemm)".
    std::string node_text(const onnx::NodeProto& n) const {
        return "node " + std::to_string(position(n)) + " (" + n.op_type() + ")";
    }

    /// The input of n (resolved) other than x, for a binary node with x on either side.
    std::string other_input(const onnx::NodeProto& n, const std::string& x) const {
        if (n.input_size() != 2) fail(node_text(n) + " has " + std::to_string(n.input_size()) + " inputs, 2 expected");
        const std::string a = resolve(n.input(0)), b = resolve(n.input(1));
        return a == x ? b : a;
    }

    /// The constant called name (an initializer or a Constant node's value), if it is one.
    std::optional<OnnxConstant> constant(const std::string& name) const {
        const std::string r = resolve(name);
        if (auto it = initializers_.find(r); it != initializers_.end()) return values(*it->second, r);
        if (auto it = constant_nodes_.find(r); it != constant_nodes_.end()) {
            for (const onnx::AttributeProto& a : it->second->attribute()) {
                if (a.name() == "value") return values(a.t(), r);
                if (a.name() == "value_float") return OnnxConstant{{}, {double(a.f())}};
                if (a.name() == "value_floats") return OnnxConstant{{a.floats_size()}, {a.floats().begin(), a.floats().end()}};
            }
            fail("Constant node for '" + r + "' has no value this reader understands");
        }
        return std::nullopt;
    }

    /// The constant input `k` of node n, which must exist and be a constant.
    OnnxConstant constant_input(const onnx::NodeProto& n, int k, const OnnxLayer& who) const {
        if (k >= n.input_size() || n.input(k).empty())
            fail(node_text(n) + " for " + who.text() + " lacks input " + std::to_string(k));
        auto c = constant(n.input(k));
        if (!c) fail(node_text(n) + " for " + who.text() + ": input '" + n.input(k) + "' is not a constant (initializer)");
        return *c;
    }

    /// A float attribute of n, or fallback when n does not have it.
    static double attribute(const onnx::NodeProto& n, std::string_view name, double fallback) {
        for (const onnx::AttributeProto& a : n.attribute())
            if (a.name() == name) return a.type() == onnx::AttributeProto_AttributeType_INT ? double(a.i()) : double(a.f());
        return fallback;
    }
    /// An integer attribute of n, or fallback.
    static std::int64_t attribute(const onnx::NodeProto& n, std::string_view name, std::int64_t fallback) {
        for (const onnx::AttributeProto& a : n.attribute())
            if (a.name() == name) return a.i();
        return fallback;
    }

    /// Stages target = values (converted to target's scalar), written by commit().
    template <class V>
    void stage(V& target, const std::vector<double>& values) {
        using T = std::remove_cvref_t<decltype(*target.data())>;
        std::vector<T> converted(values.begin(), values.end());
        later([&target, converted = std::move(converted)] { std::copy(converted.begin(), converted.end(), target.data()); });
    }
    /// Stages any other change to the network (a layer's epsilon, momentum or slope).
    void later(std::function<void()> change) { staged_.push_back(std::move(change)); }
    /// Applies every staged change: the read succeeded.
    void commit() {
        for (auto& change : staged_) change();
        staged_.clear();
    }

    const std::string& file() const { return file_; }
    const onnx::GraphProto& graph() const { return graph_; }

private:
    // The first node not taken. Nodes are only ever taken, never given back, so the cursor only
    // moves forward: reading a graph of n nodes costs O(n), not O(n^2).
    std::size_t next_index() const {
        while (first_untaken_ < taken_.size() && taken_[first_untaken_]) ++first_untaken_;
        return first_untaken_;
    }

    bool reads(const onnx::NodeProto& n, const std::string& x) const {
        for (const std::string& in : n.input())
            if (resolve(in) == x) return true;
        return false;
    }

    // The values of a tensor as double (float and double data are exact in double).
    OnnxConstant values(const onnx::TensorProto& t, const std::string& name) const {
        OnnxConstant c;
        c.dims.assign(t.dims().begin(), t.dims().end());
        std::size_t count = 1;
        for (std::int64_t d : c.dims) {
            if (d < 0) fail("tensor '" + name + "' has a negative dimension");
            count *= std::size_t(d);
        }
        if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
            fail("tensor '" + name + "' is stored in an external file, which this reader does not follow; "
                 "save the model with its data inside (onnx.save(model, path, save_as_external_data=False))");
        auto take_raw = [&](auto zero) {
            using S = decltype(zero);
            if (t.raw_data().size() != count * sizeof(S))
                fail("tensor '" + name + "' has " + std::to_string(t.raw_data().size()) + " bytes of data, its shape needs " +
                     std::to_string(count * sizeof(S)));
            std::vector<S> raw(count);
            if (count) std::memcpy(raw.data(), t.raw_data().data(), count * sizeof(S));
            c.values.assign(raw.begin(), raw.end());
        };
        switch (t.data_type()) {
        case onnx::TensorProto_DataType_FLOAT:
            if (t.has_raw_data()) take_raw(float{});
            else c.values.assign(t.float_data().begin(), t.float_data().end());
            break;
        case onnx::TensorProto_DataType_DOUBLE:
            if (t.has_raw_data()) take_raw(double{});
            else c.values.assign(t.double_data().begin(), t.double_data().end());
            break;
        case onnx::TensorProto_DataType_INT64:
            if (t.has_raw_data()) take_raw(std::int64_t{});
            else c.values.assign(t.int64_data().begin(), t.int64_data().end());
            break;
        default:
            fail("tensor '" + name + "' has element type " + std::to_string(t.data_type()) +
                 ", which this reader does not take (float, double, int64)");
        }
        if (c.values.size() != count)
            fail("tensor '" + name + "' has " + std::to_string(c.values.size()) + " values, its shape needs " +
                 std::to_string(count));
        return c;
    }

    const onnx::GraphProto& graph_;
    std::string file_;
    std::map<std::string, const onnx::TensorProto*> initializers_;
    std::map<std::string, const onnx::NodeProto*> constant_nodes_;
    std::map<std::string, std::string> alias_;
    std::vector<bool> taken_;
    mutable std::size_t first_untaken_ = 0;  // next_index()'s cursor: every node before it is taken
    std::vector<std::function<void()>> staged_;
    layerwise::detail::WalkState state_;
};

}  // namespace layerwise::io
