// libFuzzer harness: io::decode_npy on the input as the bytes of one .npy member, then
// io::require_dtype for each element type load_npz asks for. The only accepted failure is
// io::CheckpointError.
#include <layerwise/io/npy.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    using layerwise::io::CheckpointError;
    try {
        const layerwise::io::NpyArray a = layerwise::io::decode_npy(bytes, "fuzz.npy");
        try {
            layerwise::io::require_dtype<float>(a, "fuzz.npy");
        } catch (const CheckpointError&) {
        }
        try {
            layerwise::io::require_dtype<double>(a, "fuzz.npy");
        } catch (const CheckpointError&) {
        }
        layerwise::io::require_dtype<std::uint8_t>(a, "fuzz.npy");
    } catch (const CheckpointError&) {
    }
    return 0;
}
