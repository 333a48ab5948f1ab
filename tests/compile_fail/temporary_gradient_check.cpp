// check_gradients leaves the layer holding a reference to its input: a temporary is refused.
#include <layerwise/gradient_check.hpp>
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    Dense<3, 2, double> dense;
    (void)check_gradients(dense, zeros<double>(2, 3));
}
