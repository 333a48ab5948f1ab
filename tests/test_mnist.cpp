// The real data sets, when they are on the machine: MNIST in data/mnist (from
// scripts/fetch_mnist.sh) and Fashion-MNIST where Debian's dataset-fashion-mnist puts
// it. scripts/test.sh fetches and installs both first. A data set that is absent is skipped
// with a message on a developer's machine, and fails under CI (CI=true), where the real
// loaders must run.
#include <layerwise/data/mnist.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <array>
#include <filesystem>
#include <numeric>

#ifndef LAYERWISE_SOURCE_DIR
#error "test_mnist.cpp needs LAYERWISE_SOURCE_DIR, the repository root: -DLAYERWISE_SOURCE_DIR='\"/path/to/repo\"'"
#endif

namespace fs = std::filesystem;
using namespace layerwise::data;

namespace {

using Histogram = std::array<std::size_t, 10>;  // (10): samples per class

Histogram histogram(const Dataset& d) {
    Histogram h{};
    for (int label : d.labels) ++h[std::size_t(label)];
    return h;
}

// What every split of MNIST and Fashion-MNIST shares: n samples of 784 pixels in
// [0, 1], as many labels, and every label counted once in the histogram.
void check_dataset(const Dataset& d, std::size_t n) {
    INFO(d.name);
    CHECK(d.size() == n);
    CHECK(d.images.shape(0) == n);
    CHECK(d.images.shape(1) == 784);
    const auto [lo, hi] = std::minmax_element(d.images.begin(), d.images.end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    const Histogram h = histogram(d);
    CHECK(std::accumulate(h.begin(), h.end(), std::size_t(0)) == n);
}

double mean_pixel(const Dataset& d) {
    double sum = 0;
    for (float p : d.images) sum += p;
    return sum / double(d.images.size());
}

// CI sets CI=true: there a missing data set is a failure, not a skip.
bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

}  // namespace

TEST_CASE("MNIST: 60000 + 10000 digits, as published") {
    const fs::path dir = fs::path(LAYERWISE_SOURCE_DIR) / "data" / "mnist";
    if (!fs::is_directory(dir)) {
        if (in_ci()) FAIL(dir.string() << " is absent under CI: scripts/test.sh should have fetched it");
        MESSAGE("skipped: " << dir.string() << " is absent (run scripts/fetch_mnist.sh)");
        return;
    }
    const Split s = load_mnist(dir);
    check_dataset(s.train, 60000);
    check_dataset(s.test, 10000);
    CHECK(s.train.name == "mnist/train");
    CHECK(s.test.name == "mnist/test");
    CHECK(s.train.labels.front() == 5);  // the famous first digit
    CHECK(s.test.labels.front() == 7);
    CHECK(histogram(s.train) == Histogram{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
    CHECK(histogram(s.test) == Histogram{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
    CHECK(mean_pixel(s.train) == doctest::Approx(0.1307).epsilon(0.001));  // the usual normalisation mean
}

TEST_CASE("Fashion-MNIST: 60000 + 10000 clothes, 6000 + 1000 per class") {
    const fs::path dir = default_fashion_mnist_dir;
    if (!fs::is_directory(dir)) {
        if (in_ci()) FAIL(dir.string() << " is absent under CI: scripts/setup.sh should have installed it");
        MESSAGE("skipped: " << dir.string() << " is absent (apt-get install dataset-fashion-mnist)");
        return;
    }
    const Split s = load_fashion_mnist();
    check_dataset(s.train, 60000);
    check_dataset(s.test, 10000);
    CHECK(s.train.name == "fashion-mnist/train");
    CHECK(s.train.labels.front() == 9);  // an ankle boot
    CHECK(s.test.labels.front() == 9);
    Histogram train_counts, test_counts;
    train_counts.fill(6000);
    test_counts.fill(1000);
    CHECK(histogram(s.train) == train_counts);
    CHECK(histogram(s.test) == test_counts);
    CHECK(mean_pixel(s.train) == doctest::Approx(0.2860).epsilon(0.001));
}
