// A temporary as forward's input: the network would keep a pointer to it for backward.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<784, 128>, ReLU, Dense<128, 10>> net;
    net.forward(zeros<float>(4, 784), Mode::train);
}
