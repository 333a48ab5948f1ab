// make_model DIR: writes DIR/model.npz (a BatchNorm network with parameters and statistics away
// from their defaults) and DIR/expected.txt, the outputs of the network loaded back from the
// .npz and frozen, on 1 and on 4 rows of fixed inputs.
#include "../onnx_checks/networks.hpp"
#include "fixture.hpp"

#include <layerwise/io/npz.hpp>

#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
    using namespace layerwise;
    if (argc != 2) {
        std::cerr << "usage: make_model DIR\n";
        return 2;
    }
    const std::string dir = argv[1];
    embedded_test::Net trained;
    onnx_test::randomize(trained, 2026);
    io::save_npz(trained, dir + "/model.npz");
    embedded_test::Net loaded;
    io::load_npz(loaded, dir + "/model.npz");
    auto deployed = freeze(loaded);
    std::ofstream out(dir + "/expected.txt");
    for (std::size_t rows : {1u, 4u}) {
        const Matrix<float> x = embedded_test::inputs(rows);
        out << embedded_test::text(deployed.forward(x, Mode::inference));
    }
    return out ? 0 : 1;
}
