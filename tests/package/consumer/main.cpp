// A user's program: builds the seed's 10-layer network, runs one step, prints its summary.
#include <layerwise/core.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <iostream>
#include <memory>
#include <vector>

int main() {
    using namespace layerwise;
    auto net = std::make_unique<seed::BnMlp<10>>();
    init(*net, 42);
    Matrix<float> x = zeros<float>(16, 784);
    for (std::size_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(k % 255) / 255.0f;
    SoftmaxCrossEntropy<float> loss;
    const float value = loss.forward(net->forward(x, Mode::train), std::vector<int>(16, 3));
    net->backward(loss.backward());
    summary(*net, std::cout);
    std::cout << "loss " << value << "\n";
    return value > 0 ? 0 : 1;
}
