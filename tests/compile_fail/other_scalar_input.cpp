// A Matrix<double> given to a float network: it would be converted into a float temporary.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<784, 128>, ReLU, Dense<128, 10>> net;
    Matrix<double> x = zeros<double>(4, 784);
    net.forward(x, Mode::train);
}
