// Dense<784, 128> produces 128 features; Dense<64, 10> takes 64.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<784, 128>, Dense<64, 10>> net;
    const Matrix<float> x = zeros<float>(1, 784);  // named: only the widths are wrong
    net.forward(x, Mode::train);
}
