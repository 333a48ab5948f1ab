// A temporary given to a single layer (here BatchNorm) rather than to a network.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    BatchNorm<8> bn;
    Matrix<float> x = zeros<float>(4, 8);
    bn.forward(x + x, Mode::train);
}
