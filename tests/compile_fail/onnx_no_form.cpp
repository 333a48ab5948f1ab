// A user's layer that has no ONNX form, written with save_onnx: the one error says what to
// specialise.
#include <layerwise/io/onnx.hpp>
using namespace layerwise;
struct Scaled : Dense<4, 4> {
    template <class U>
    using rebind = Scaled;
    static constexpr std::string_view name = "scaled";
};
int main() {
    Sequential<Scaled, ReLU> net;
    io::save_onnx(net, "net.onnx");
}
