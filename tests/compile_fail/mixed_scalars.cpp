// A float layer and a double layer in one network.
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Sequential<Dense<4, 3, double>, Dense<3, 2>> net;
    (void)net;
}
