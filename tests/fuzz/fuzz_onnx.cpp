// libFuzzer harness: io::load_onnx_bytes on the input as the bytes of an .onnx file, into a
// network with one layer of each kind the reader matches by pattern (Gemm, BatchNormalization,
// LayerNormalization, the activations with attributes, GELU's nodes, Residual's Add, ReZero's
// Mul and Add). The only accepted failure is io::CheckpointError.
#include <layerwise/io/onnx.hpp>
#include <layerwise/layerwise.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using FuzzOnnxNet = layerwise::Sequential<layerwise::Dense<4, 3>, layerwise::BatchNorm<3>, layerwise::ReLU,
                                          layerwise::Residual<layerwise::Dense<3, 3>, layerwise::GELU>,
                                          layerwise::ReZero<layerwise::Dense<3, 3>, layerwise::ELU>,
                                          layerwise::LayerNorm<3>, layerwise::Dropout<>, layerwise::LeakyReLU,
                                          layerwise::Dense<3, 2>>;  // as in make_corpus.cpp

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzOnnxNet net;
    try {
        layerwise::io::load_onnx_bytes(net, std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
    } catch (const layerwise::io::CheckpointError&) {
    }
    return 0;
}
