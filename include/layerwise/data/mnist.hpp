// layerwise/data/mnist.hpp — MNIST and Fashion-MNIST: 28 x 28 grey images of ten classes.
//
// Both ship as four IDX files (plain or .gz) in one directory:
//   train-images-idx3-ubyte   (60000 x 28 x 28)   train-labels-idx1-ubyte   (60000)
//   t10k-images-idx3-ubyte    (10000 x 28 x 28)   t10k-labels-idx1-ubyte    (10000)
// A Dataset holds one pair as a matrix of pixels in [0, 1], one image per row, and a
// vector of class indices. Loading checks what the files promise to each other: as many
// labels as images, 28 x 28 images, labels in 0..9. Every failure throws DataError.
#pragma once

#include "../tensor.hpp"
#include "idx.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace layerwise::data {

inline constexpr std::size_t image_side = 28;                         // rows = columns of an image
inline constexpr std::size_t image_pixels = image_side * image_side;  // 784, a Dataset's columns
inline constexpr int num_classes = 10;                                // labels are 0..9

/// Where Debian's dataset-fashion-mnist package puts its files.
inline const std::filesystem::path default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// Images and their labels.
struct Dataset {
    Matrix<float> images;     // (n x 784): row i is image i, its 28 x 28 pixels row by row, each / 255 in [0, 1]
    std::vector<int> labels;  // (n): the class of image i, in 0..9
    std::string name;         // e.g. "mnist/train", for messages and logs

    std::size_t size() const { return labels.size(); }
};

/// The standard split: 60000 training and 10000 test samples for both data sets.
struct Split {
    Dataset train;
    Dataset test;
};

/// Loads one IDX images file (n x 28 x 28) and its IDX labels file (n), plain or gzip.
inline Dataset load_dataset(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                            std::string name) {
    using detail::data_error;
    const IdxArray images = read_idx(images_file, 3);
    const IdxArray labels = read_idx(labels_file, 1);

    const std::size_t n = images.shape[0];
    if (images.shape[1] != image_side || images.shape[2] != image_side)
        throw data_error(images_file, "images are " + std::to_string(images.shape[1]) + " x " +
                                          std::to_string(images.shape[2]) + " pixels, expected 28 x 28");
    if (n == 0) throw data_error(images_file, "contains no images");
    if (labels.shape[0] != n)
        throw data_error(labels_file, std::to_string(labels.shape[0]) + " labels, but " + images_file.string() +
                                          " has " + std::to_string(n) + " images");

    Dataset d;
    d.name = std::move(name);
    d.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const int label = labels.bytes[i];
        if (label >= num_classes)
            throw data_error(labels_file, "label " + std::to_string(label) + " at index " + std::to_string(i) +
                                              " is outside 0..9");
        d.labels[i] = label;
    }
    d.images = zeros<float>(n, image_pixels);
    float* pixels = d.images.data();  // (n * 784), row-major, the same order as the file
    for (std::size_t k = 0; k < n * image_pixels; ++k) pixels[k] = float(images.bytes[k]) / 255.0f;
    return d;
}

namespace detail {

// dir/base if it exists, else dir/base.gz if that exists; else a DataError with the hint.
inline std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& base,
                                           const std::string& hint) {
    const std::filesystem::path plain = dir / base, gz = dir / (base + ".gz");
    if (std::filesystem::exists(plain)) return plain;
    if (std::filesystem::exists(gz)) return gz;
    throw data_error(plain, "not found (nor " + base + ".gz); " + hint);
}

// The four standard files in dir; name is the data set's ("mnist"), hint says where to get them.
inline Split load_split(const std::filesystem::path& dir, const std::string& name, const std::string& hint) {
    if (!std::filesystem::is_directory(dir))
        throw data_error(dir, std::string(std::filesystem::exists(dir) ? "not a directory" : "no such directory") +
                                  "; " + hint);
    const auto file = [&](const char* base) { return find_idx_file(dir, base, hint); };
    Split s;
    s.train = load_dataset(file("train-images-idx3-ubyte"), file("train-labels-idx1-ubyte"), name + "/train");
    s.test = load_dataset(file("t10k-images-idx3-ubyte"), file("t10k-labels-idx1-ubyte"), name + "/test");
    return s;
}

}  // namespace detail

/// MNIST's digits from dir (scripts/fetch_mnist.sh puts them in data/mnist).
inline Split load_mnist(const std::filesystem::path& dir) {
    return detail::load_split(dir, "mnist", "run scripts/fetch_mnist.sh or pass --data DIR");
}

/// Zalando's Fashion-MNIST from dir (by default where Debian's package installs it).
inline Split load_fashion_mnist(const std::filesystem::path& dir = default_fashion_mnist_dir) {
    return detail::load_split(dir, "fashion-mnist",
                              "install Debian's dataset-fashion-mnist package "
                              "(sudo apt-get install dataset-fashion-mnist) or pass --data DIR");
}

}  // namespace layerwise::data
