// y = x + alpha F(x) cannot add a 64-wide F(x) to a 128-wide x.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<784, 128>, ReZero<Dense<128, 64>>, Dense<64, 10>> net;
    const Matrix<float> x = zeros<float>(1, 784);  // named: only the widths are wrong
    net.forward(x, Mode::train);
}
