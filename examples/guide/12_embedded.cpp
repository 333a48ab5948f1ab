// docs/guide.md, section 15 (Embedded), step 2: the trained network from weights compiled into
// the program (thirds_model.hpp, written at build time by layerwise-embed from thirds.npz). It
// links the core alone: no io component, no file read, no exception on the way, and no heap
// allocation per inference call once a batch size has been seen. Compiled and run as the test
// guide.embedded.
#include "12_embedded_net.hpp"
#include "thirds.hpp"
#include "thirds_model.hpp"

#include <layerwise/core.hpp>
#include <layerwise/deploy/embedded.hpp>

#include <cstdio>

using namespace layerwise;
using guide::require;

int main() {
    embedded_guide::Net net;
    if (!deploy::load_embedded(net, thirds_model::parameters)) return 1;  // another network's weights
    auto deployed = freeze(net);  // BatchNorm folded into the Dense before it: 3 Dense, 2 ReLU

    const guide::Thirds data;  // the guide's validation points, to see the weights at work
    std::size_t correct = 0;
    Matrix<float> one = zeros<float>(1, 2);
    for (std::size_t i = 0; i < data.x_val.shape(0); ++i) {  // one point at a time, as a device would
        one(0, 0) = data.x_val(i, 0), one(0, 1) = data.x_val(i, 1);
        const Matrix<float>& logits = deployed.forward(one, Mode::inference);
        std::size_t best = 0;
        for (std::size_t j = 1; j < 3; ++j)
            if (logits(0, j) > logits(0, best)) best = j;
        correct += best == std::size_t(data.y_val[i]);
    }
    const double accuracy = double(correct) / double(data.x_val.shape(0));
    std::printf("validation accuracy from the compiled-in weights, one point at a time: %.3f\n", accuracy);
    require(accuracy > 0.9, "the compiled-in network classifies the validation points");
}
