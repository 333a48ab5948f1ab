// Each copy of the block feeds the next, so a 128 -> 64 block cannot repeat.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<784, 128>, Repeat<2, Dense<128, 64>>, Dense<64, 10>> net;
    const Matrix<float> x = zeros<float>(1, 784);  // named: only the widths are wrong
    net.forward(x, Mode::train);
}
