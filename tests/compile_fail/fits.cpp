// Control: the same command as the failing snippets, on a network whose shapes fit.
#include <layerwise/layerwise.hpp>
using namespace layerwise;
using Net = Sequential<Dense<784, 128>, BatchNorm<128>, ReLU, Residual<Dense<128, 128>, BatchNorm<128>>,
                       Repeat<3, Dense<128, 128>, ReLU>, Dense<128, 10>>;
int main() {
    Net net;
    return static_cast<int>(net.forward(zeros<float>(1, 784), Mode::train).shape(1)) - 10;
}
