// A temporary given to an activation that keeps its input for backward (GELU: its f' needs x).
#include <layerwise/core.hpp>
using namespace layerwise;
int main() {
    GELU gelu;
    Matrix<float> x = zeros<float>(4, 8);
    gelu.forward(x + x, Mode::train);
}
