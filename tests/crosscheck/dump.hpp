// dump.hpp — the .npz that a cross-check helper writes for a script to compare (dump_training,
// dump_remedies): members by name, as .npy bytes, and the --perturb option that scales one of
// them as it is added, to show that the comparison catches a wrong number.
//
// --perturb MEMBER:REL multiplies the floating-point member MEMBER by (1 + REL): of a params/
// member only the last row (the value after the last step), of any other all of it. Training
// itself is untouched.
#pragma once

#include <layerwise/io/npy.hpp>
#include <layerwise/io/zip.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace crosscheck {

class Dump {
public:
    explicit Dump(const std::string& perturb) {
        if (perturb.empty()) return;
        const std::size_t colon = perturb.rfind(':');
        std::size_t used = 0;
        try {
            if (colon != std::string::npos) factor_ = 1.0 + std::stod(perturb.substr(colon + 1), &used);
        } catch (const std::exception&) {
        }
        if (colon == std::string::npos || colon == 0 || used == 0 || used != perturb.size() - colon - 1)
            throw std::invalid_argument("--perturb " + perturb + ": expected MEMBER:REL, e.g. grad/dense_3/kernel:1e-3");
        target_ = perturb.substr(0, colon);
    }

    template <class T>
    void add(const std::string& name, const T* data, const layerwise::io::Shape& shape) {
        if (name != target_) {
            members_[name] = layerwise::io::encode_npy(data, shape);
            return;
        }
        if constexpr (!std::is_floating_point_v<T>) {
            throw std::invalid_argument("--perturb: " + name + " is not a floating-point member");
        } else {
            const std::size_t n = layerwise::io::element_count(shape);
            const std::size_t first = name.starts_with("params/") ? n - n / shape[0] : 0;  // params/: the last row
            std::vector<T> scaled(data, data + n);
            for (std::size_t k = first; k < n; ++k) scaled[k] = static_cast<T>(scaled[k] * factor_);
            members_[name] = layerwise::io::encode_npy(scaled.data(), shape);
            perturbed_ = true;
        }
    }

    void write(const std::string& file) {
        if (!target_.empty() && !perturbed_)
            throw std::invalid_argument("--perturb: no member named " + target_ +
                                        " (members look like grad/dense/kernel, params/dense_1/bias)");
        layerwise::io::ZipWriter zip(file);
        for (auto& [name, bytes] : members_) zip.add(name + ".npy", std::move(bytes));
        zip.commit();
    }

private:
    std::map<std::string, std::string> members_;
    std::string target_;
    double factor_ = 1.0;
    bool perturbed_ = false;
};

}  // namespace crosscheck
