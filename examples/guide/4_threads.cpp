// docs/guide.md, section 6: threads and the BLAS kernel. Compiled and run as the test
// guide.threads.
#include <layerwise/blas_runtime.hpp>
#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

using namespace layerwise;

namespace {
// The largest difference between two outputs of the same shape.
float largest_difference(const Matrix<float>& a, const Matrix<float>& b) {
    float largest = 0;
    for (std::size_t k = 0; k < a.size(); ++k) largest = std::max(largest, std::abs(a.data()[k] - b.data()[k]));
    return largest;
}
}  // namespace

int main() {
    // Which OpenBLAS kernel runs. Debian's OpenBLAS picks a slow generic one on some CPUs
    // unless OPENBLAS_CORETYPE names the right one (see README, "How fast").
    std::printf("OpenBLAS kernel: %s\n", blas_core().c_str());

    // set_threads(n): the calling thread's pool cuts each GEMM and element-wise pass into n
    // bands; BLAS is then kept on one thread per band, so the two never oversubscribe the cores.
    auto net = std::make_unique<seed::BnMlp<10>>();
    init(*net, 1);
    const Matrix<float> x = zeros<float>(256, 784) + 0.5f;
    set_threads(1);
    const Matrix<float> one = outputs(*net, x);
    set_threads(2);
    const Matrix<float> two = outputs(*net, x);
    // Same seed and same thread count give the same bits; another thread count cuts the GEMMs
    // differently, which may change the last bit.
    const float largest = largest_difference(one, two);
    std::printf("threads: %zu; outputs on 1 and 2 threads differ by at most %.2e\n", threads(), double(largest));

    // Each thread has its own pool: two threads, each on two threads, run their own networks
    // at once without waiting for each other, and get the bits they get alone.
    auto other = std::make_unique<seed::BnMlp<10>>();
    init(*other, 2);
    const Matrix<float> other_alone = outputs(*other, x);
    Matrix<float> first, second;
    std::thread a([&] {
        set_threads(2);
        first = outputs(*net, x);
    });
    std::thread b([&] {
        set_threads(2);
        second = outputs(*other, x);
    });
    a.join();
    b.join();
    const bool same = std::memcmp(first.data(), two.data(), two.size() * sizeof(float)) == 0 &&
                      std::memcmp(second.data(), other_alone.data(), other_alone.size() * sizeof(float)) == 0;
    std::printf("two threads at once, two threads each: %s bits as one at a time\n", same ? "the same" : "NOT the same");
    set_threads(1);
    return largest < 1e-4f && same ? 0 : 1;
}
