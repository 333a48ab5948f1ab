// docs/guide.md, section 6: threads and the BLAS kernel. Compiled and run as the test
// guide.threads.
#include <layerwise/blas_runtime.hpp>
#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

using namespace layerwise;

int main() {
    // Which OpenBLAS kernel runs. Debian's OpenBLAS picks a slow generic one on some CPUs
    // unless OPENBLAS_CORETYPE names the right one (see README, "How fast").
    std::printf("OpenBLAS kernel: %s\n", blas_core().c_str());

    // set_threads(n): layerwise's own pool cuts each GEMM and element-wise pass into n bands;
    // BLAS is then kept on one thread per band, so the two never oversubscribe the cores.
    auto net = std::make_unique<seed::BnMlp<10>>();
    init(*net, 1);
    const Matrix<float> x = zeros<float>(256, 784) + 0.5f;
    set_threads(1);
    const Matrix<float> one = outputs(*net, x);
    set_threads(2);
    const Matrix<float> two = outputs(*net, x);
    // Same seed and same thread count give the same bits; another thread count cuts the GEMMs
    // differently, which may change the last bit.
    float largest = 0;
    for (std::size_t k = 0; k < one.size(); ++k) largest = std::max(largest, std::abs(one.data()[k] - two.data()[k]));
    std::printf("threads: %zu; outputs on 1 and 2 threads differ by at most %.2e\n", threads(), double(largest));
    set_threads(1);
    return largest < 1e-4f ? 0 : 1;
}
