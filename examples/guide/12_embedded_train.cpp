// docs/guide.md, section 15 (Embedded), step 1, run at build time: trains the guide's network
// and saves it as thirds.npz, which layerwise-embed then turns into thirds_model.hpp.
#include "thirds.hpp"

#include <layerwise/io/npz.hpp>
#include <layerwise/layerwise.hpp>

#include <cstdio>
#include <string>

#include "12_embedded_net.hpp"

int main(int argc, char** argv) {
    using namespace layerwise;
    const std::string path = argc > 1 ? argv[1] : "thirds.npz";
    const guide::Thirds data;
    embedded_guide::Net net;
    init(net, 1);
    Adam<float> adam;
    fit(net, adam, data.train(), data.val(), guide::quiet(5));
    io::save_npz(net, path);
    std::printf("wrote %s\n", path.c_str());
}
