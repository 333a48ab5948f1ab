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

#include <array>
#include <cstddef>
#include <new>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace layerwise::data {

inline constexpr std::size_t image_side = 28;                         ///< rows = columns of an image
inline constexpr std::size_t image_pixels = image_side * image_side;  ///< 784, a Dataset's columns
inline constexpr int num_classes = 10;                                ///< labels are 0..9

/// Where Debian's dataset-fashion-mnist package puts its files.
inline const std::filesystem::path default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// Images and their labels.
struct Dataset {
    Matrix<float> images;     ///< (n x 784): row i is image i, its 28 x 28 pixels row by row, each / 255 in [0, 1]
    std::vector<int> labels;  ///< (n): the class of image i, in 0..9
    std::string name;         ///< e.g. "mnist/train", for messages and logs

    /// n, the number of samples.
    std::size_t size() const { return labels.size(); }
};

/// The standard split: 60000 training and 10000 test samples for both data sets.
struct Split {
    Dataset train;  ///< the training set
    Dataset test;   ///< the test set
};

/// The sizes of MNIST's and Fashion-MNIST's two sets: the default limits of the loaders.
inline constexpr std::size_t mnist_train_size = 60000, mnist_test_size = 10000;  ///< the test set's (see mnist_train_size)

/// Loads one IDX images file (n x 28 x 28) and its IDX labels file (n), plain or gzip, with
/// at most max_items samples: a header that promises more is refused before anything is
/// read. The pixels are converted to floats as they arrive, in small blocks, so the file's
/// bytes and the float matrix are never held at the same time; memory is the matrix,
/// n x 784 x 4 bytes (188 MB for 60,000 images).
inline Dataset load_dataset(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                            std::string name, std::size_t max_items = mnist_train_size) {
    using detail::data_error;
    IdxReader images(images_file, 3, {max_items, std::uint64_t(max_items) * image_pixels, "images"});  // the header
    const IdxArray labels = read_idx(labels_file, 1, {max_items, max_items, "labels"});

    const std::size_t n = images.shape()[0];
    if (images.shape()[1] != image_side || images.shape()[2] != image_side)
        throw data_error(images_file, "images are " + std::to_string(images.shape()[1]) + " x " +
                                          std::to_string(images.shape()[2]) + " pixels, expected 28 x 28");
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
    try {
        d.images = zeros<float>(n, image_pixels);
    } catch (const std::bad_alloc&) {
        throw data_error(images_file, "not enough memory for " + std::to_string(n) + " images (" +
                                          std::to_string(n * image_pixels * sizeof(float) >> 20) + " MB as floats)");
    }
    float* pixels = d.images.data();  // (n * 784), row-major, the same order as the file
    std::array<std::uint8_t, 64 * image_pixels> block;
    for (std::size_t done = 0; done < n * image_pixels;) {
        const std::size_t k = std::min(block.size(), n * image_pixels - done);
        images.read(block.data(), k);
        for (std::size_t j = 0; j < k; ++j) pixels[done + j] = float(block[j]) / 255.0f;
        done += k;
    }
    images.finish();
    return d;
}

namespace detail {

// The four standard files in dir, plain or .gz; name is the data set's ("mnist"), hint says
// where to get them. Every missing file is named in one error.
inline Split load_split(const std::filesystem::path& dir, const std::string& name, const std::string& hint) {
    if (!std::filesystem::is_directory(dir))
        throw data_error(dir, std::string(std::filesystem::exists(dir) ? "not a directory" : "no such directory") +
                                  "; " + hint);
    const char* bases[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"};
    std::filesystem::path files[4];
    std::string missing;
    for (int k = 0; k < 4; ++k) {
        const std::filesystem::path plain = dir / bases[k], gz = dir / (std::string(bases[k]) + ".gz");
        files[k] = std::filesystem::exists(plain) ? plain : gz;
        if (!std::filesystem::exists(files[k])) missing += (missing.empty() ? "" : ", ") + std::string(bases[k]);
    }
    if (!missing.empty()) throw data_error(dir, "missing " + missing + " (plain or .gz); " + hint);
    Split s;
    s.train = load_dataset(files[0], files[1], name + "/train", mnist_train_size);
    s.test = load_dataset(files[2], files[3], name + "/test", mnist_test_size);
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
