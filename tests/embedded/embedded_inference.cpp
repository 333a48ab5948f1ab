// embedded_inference EXPECTED: the network of fixture.hpp built from embedded_model.hpp (written
// by layerwise-embed at build time) with the core alone: no io component, no file read by the
// library. Its frozen form's outputs on 1 and 4 rows must equal EXPECTED (the npz-loaded
// network's, from make_model) bit for bit, and a second inference call of either batch size
// must allocate nothing.
#include "../allocation_counter.hpp"
#include "embedded_model.hpp"
#include "fixture.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    using namespace layerwise;
    if (argc != 2) {
        std::cerr << "usage: embedded_inference EXPECTED\n";
        return 2;
    }
    embedded_test::Net net;
    if (!deploy::load_embedded(net, embedded_model::parameters)) {
        std::cerr << "embedded_inference: the embedded parameters are not this network's\n";
        return 1;
    }
    auto deployed = freeze(net);
    std::string outputs;
    int status = 0;
    for (std::size_t rows : {1u, 4u}) {
        const Matrix<float> x = embedded_test::inputs(rows);
        deployed.forward(x, Mode::inference);  // the first call of a batch size sizes the buffers
        const std::size_t before = allocation_counter::count.load();
        const Matrix<float>& y = deployed.forward(x, Mode::inference);
        const std::size_t allocations = allocation_counter::count.load() - before;
        std::cout << "batch " << rows << ": " << allocations << " allocations per inference call\n";
        if (allocations != 0) status = 1;
        outputs += embedded_test::text(y);
    }
    std::ifstream in(argv[1]);
    std::stringstream expected;
    expected << in.rdbuf();
    if (!in || expected.str() != outputs) {
        std::cerr << "embedded_inference: the outputs differ from " << argv[1] << ":\n" << outputs;
        return 1;
    }
    std::cout << "outputs equal the npz-loaded network's bit for bit (" << argv[1] << ")\n";
    return status;
}
