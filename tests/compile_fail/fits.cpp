// Control: the same command as the failing snippets, on a network whose shapes fit, fed
// the ways that are allowed: a named Matrix (const or not) of the network's scalar type.
#include <layerwise/gradient_check.hpp>
#include <layerwise/core.hpp>
using namespace layerwise;
using Net = Sequential<Dense<784, 128>, BatchNorm<128>, ReLU, Residual<Dense<128, 128>, BatchNorm<128>>,
                       Repeat<3, Dense<128, 128>, ReLU>, Dense<128, 10>>;
int main() {
    Net net;
    Matrix<float> x = zeros<float>(2, 784);
    const Matrix<float>& cx = x;
    net.forward(cx, Mode::train);
    Dense<3, 2> dense;
    Matrix<float> small = zeros<float>(2, 3);
    (void)check_gradients(dense, small);
    return static_cast<int>(net.forward(x, Mode::train).shape(1)) - 10;
}
