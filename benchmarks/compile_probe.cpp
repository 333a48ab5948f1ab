// compile_probe — one translation unit that trains one network type (the seed's 25-layer
// BatchNorm MLP) for a step: the runner times its compilation ("a single network's TU").
#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <memory>
#include <vector>

int main() {
    using namespace layerwise;
    auto net = std::make_unique<seed::BnMlp<25>>();
    init(*net, 1);
    RMSprop<float> opt;
    SoftmaxCrossEntropy<float> loss;
    const Matrix<float> x = zeros<float>(8, 784);
    const std::vector<int> y(8, 1);
    loss.forward(net->forward(x, Mode::train), y);
    backward_parameters(*net, loss.backward());  // training: no dx for the data
    opt.step(*net);
    return 0;
}
