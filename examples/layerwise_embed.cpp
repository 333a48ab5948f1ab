// layerwise-embed — a checkpoint as a C++ header of constant arrays (deploy/embedded.hpp):
//
//   layerwise-embed model.npz --name my_model > my_model.hpp
//   layerwise-embed model.npz --name my_model --output my_model.hpp
//
// Reads the .npz that io::save_npz wrote (its signature gives the parameters in walk order),
// and writes, in namespace my_model, one array per parameter with every value as a hex-float
// literal (exact), the table `parameters` that deploy::load_embedded takes, and the
// checkpoint's signature as `signature`. The program that includes the header needs neither
// the io component nor the file.
#include <layerwise/io/atomic_file.hpp>
#include <layerwise/io/npz.hpp>

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

using namespace layerwise;

namespace {

struct Parameter {
    std::string name;
    std::string identifier;  // a C++ name for its array
    io::NpyArray array;
    std::string bytes;       // the member's bytes, which array's views point into
};

// v as a literal that reads back as v exactly: a hex float ("0x1.8p-3f"), or the limits.
template <class T>
std::string literal(T v) {
    const std::string suffix = std::is_same_v<T, float> ? "f" : "";
    const std::string type = std::is_same_v<T, float> ? "float" : "double";
    if (std::isnan(v)) return "std::numeric_limits<" + type + ">::quiet_NaN()";
    if (std::isinf(v)) return std::string(v < 0 ? "-" : "") + "std::numeric_limits<" + type + ">::infinity()";
    char buffer[64];
    const char* end = std::to_chars(buffer, buffer + sizeof buffer, std::abs(v), std::chars_format::hex).ptr;
    return std::string(std::signbit(v) ? "-" : "") + "0x" + std::string(buffer, std::size_t(end - buffer)) + suffix;
}

std::string identifier_of(const std::string& name, std::size_t index) {
    std::string id = "p" + std::to_string(index) + "_";
    for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return id;
}

bool valid_namespace(const std::string& name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

template <class T>
void write_arrays(std::ostream& out, const std::vector<Parameter>& parameters, const std::string& type) {
    for (const Parameter& p : parameters) {
        const std::size_t n = p.array.data.size() / sizeof(T);
        out << "\n// " << p.name << " " << io::shape_text(p.array.shape) << "\n";
        out << "inline constexpr " << type << " " << p.identifier << "[" << std::max<std::size_t>(n, 1) << "] = {";
        for (std::size_t k = 0; k < n; ++k) {
            T v;
            std::memcpy(&v, p.array.data.data() + k * sizeof(T), sizeof(T));
            out << (k % 6 == 0 ? "\n    " : " ") << literal(v) << ",";
        }
        out << "\n};\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"layerwise-embed: a checkpoint (.npz from io::save_npz) as a C++ header of constant arrays"};
    std::string input, name, output;
    app.add_option("checkpoint", input, "the .npz checkpoint")->required();
    app.add_option("--name", name, "the namespace of the arrays in the header (a C++ identifier)")->required();
    app.add_option("--output", output, "write the header to this file (atomically) instead of standard output");
    CLI11_PARSE(app, argc, argv);
    if (!valid_namespace(name)) {
        std::cerr << "layerwise-embed: --name " << name << ": not a C++ identifier (letters, digits, _)\n";
        return 2;
    }
    try {
        const io::ZipReader zip(input);
        const std::string signature = zip.read(std::string(io::signature_member), 1 << 24);
        const io::NpyArray sig = io::decode_npy(signature, input + ": " + std::string(io::signature_member));
        io::require_dtype<std::uint8_t>(sig, input + ": " + std::string(io::signature_member));
        const std::string text(sig.data);

        // "  dense_3/kernel (128, 128)": the parameters, in walk order.
        std::vector<Parameter> parameters;
        std::istringstream lines(text);
        std::string line, header;
        std::getline(lines, header);
        const bool is_double = header.find(" float64 ") != std::string::npos;
        if (!is_double && header.find(" float32 ") == std::string::npos)
            throw io::CheckpointError(input + ": the signature names neither float32 nor float64: " + header);
        while (std::getline(lines, line)) {
            if (line.rfind("  ", 0) != 0) continue;
            const std::size_t open = line.rfind(" (");
            Parameter p;
            p.name = line.substr(2, open - 2);
            p.identifier = identifier_of(p.name, parameters.size());
            const std::string member = p.name + ".npy";
            p.bytes = zip.read(member, std::size_t(1) << 32);
            parameters.push_back(std::move(p));
            Parameter& q = parameters.back();
            q.array = io::decode_npy(q.bytes, input + ": " + member);
            if (is_double) io::require_dtype<double>(q.array, input + ": " + member);
            else io::require_dtype<float>(q.array, input + ": " + member);
        }
        if (parameters.empty()) throw io::CheckpointError(input + ": the signature lists no parameters");

        const std::string type = is_double ? "double" : "float";
        std::ostringstream out;
        out << "// " << name << ".hpp — the parameters of " << input << ", written by layerwise-embed; do not edit.\n//\n";
        std::istringstream sig_lines(text);
        while (std::getline(sig_lines, line)) out << "//   " << line << "\n";
        out << "#pragma once\n\n#include <layerwise/deploy/embedded.hpp>\n\n#include <limits>\n\nnamespace " << name
            << " {\n";
        if (is_double) write_arrays<double>(out, parameters, type);
        else write_arrays<float>(out, parameters, type);
        out << "\n/// Every parameter in walk order, for layerwise::deploy::load_embedded.\n";
        out << "inline constexpr layerwise::deploy::EmbeddedParameter<" << type << "> parameters[] = {\n";
        for (const Parameter& p : parameters)
            out << "    {\"" << p.name << "\", " << p.identifier << ", " << p.array.data.size() / (is_double ? 8 : 4)
                << "},\n";
        out << "};\n\n/// The checkpoint's signature (io/npz.hpp).\ninline constexpr char signature[] = R\"layerwise(" << text
            << ")layerwise\";\n\n}  // namespace " << name << "\n";
        if (output.empty()) std::cout << out.str();
        else io::write_file_atomically(output, out.str());
    } catch (const std::exception& e) {
        std::cerr << "layerwise-embed: " << e.what() << "\n";
        return 1;
    }
}
