// quick_tour: the seed's 25-layer MLPs as types, one training step each, and what the
// gradient looks like at the first and the last layer at initialisation.
//
//   ./quick_tour            (no data needed: the input is a fixed pseudo-random batch)
#include <layerwise/core.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <random>
#include <vector>

using namespace layerwise;

using Net = Sequential<
    Dense<784, 128>, BatchNorm<128>, ReLU,
    Repeat<23, Dense<128, 128>, BatchNorm<128>, ReLU>,
    Dense<128, 10>>;                       // the seed's 25-layer MLP
using Skip = Sequential<Dense<784, 128>, BatchNorm<128>, ReLU,
    Repeat<12, Dense<128, 128>, BatchNorm<128>, ReLU,
               Residual<Dense<128, 128>, BatchNorm<128>>, ReLU>,
    Dense<128, 10>>;                       // the seed's skip-connection MLP

template <class Network>
void one_step(const char* title, const Matrix<float>& x, const std::vector<int>& labels) {
    auto net = std::make_unique<Network>();  // ~2 MB of parameters: keep it off the stack
    init(*net, /*seed=*/42);
    SoftmaxCrossEntropy<float> loss;
    const auto& y = net->forward(x, Mode::train);
    const float loss_value = loss.forward(y, labels);
    net->backward(loss.backward());
    std::cout << title << ": " << Network::parameter_count << " parameters, loss " << loss_value << "\n";
    for_each_parameter(*net, [](std::string_view name, auto& value, auto& grad) {
        (void)value;
        if (!name.ends_with("/kernel")) return;
        double sq = 0;
        for (auto g : grad) sq += double(g) * double(g);
        std::cout << "  ||d " << name << "|| = " << std::sqrt(sq) << "\n";
    });
}

int main() {
    Net net;
    summary(net, std::cout);
    std::mt19937_64 rng(1);
    Matrix<float> x = zeros<float>(128, 784);
    for (auto& v : x) v = static_cast<float>(uniform01(rng));
    std::vector<int> labels(128);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 10);
    one_step<Net>("BatchNorm MLP, depth 25", x, labels);
    one_step<Skip>("skip MLP, depth 25", x, labels);
}
