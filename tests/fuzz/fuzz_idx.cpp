// libFuzzer harness: data::load_dataset (an IDX images file and an IDX labels file, each
// plain or gzip). The only accepted failure is data::DataError.
//
// Input layout:
//   byte 0       flags: bit 0  the harness gzips the images bytes (mutations reach the IDX
//                              parser through zlib); else they are written as they are
//                              (a plain IDX file, or raw gzip bytes when they start 1f 8b)
//                       bit 1  the harness gzips the labels bytes
//                       bit 2  the harness writes a valid labels file (labels 0..9, as many
//                              as the images header's first size, up to 300) instead of
//                              taking it from the input
//   byte 1       max_items - 1 (1..256)
//   byte 2       L, the length of the labels bytes (unless bit 2)
//   L bytes      the labels file
//   the rest     the images file
#include "fuzz_common.hpp"

#include <layerwise/data/mnist.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const unsigned flags = data[0];
    const std::size_t max_items = std::size_t(data[1]) + 1;
    const std::uint8_t* rest = data + 3;
    std::size_t left = size - 3;

    std::vector<std::uint8_t> labels;
    const std::uint8_t* images = rest;
    std::size_t images_size = left;
    if (flags & 4) {
        // Images header: 00 00 08 03, then n as a big-endian uint32.
        std::uint32_t n = 0;
        if (left >= 8) n = std::uint32_t(rest[4]) << 24 | std::uint32_t(rest[5]) << 16 | std::uint32_t(rest[6]) << 8 | rest[7];
        n = std::min<std::uint32_t>(n, 300);
        labels = {0, 0, 8, 1, std::uint8_t(n >> 24), std::uint8_t(n >> 16), std::uint8_t(n >> 8), std::uint8_t(n)};
        for (std::uint32_t i = 0; i < n; ++i) labels.push_back(std::uint8_t(i % 10));
    } else {
        const std::size_t l = std::min<std::size_t>(data[2], left);
        labels.assign(rest, rest + l);
        images += l;
        images_size -= l;
    }

    const auto& dir = fuzz::scratch_dir("idx");
    const auto images_file = dir / "images", labels_file = dir / "labels";
    if (flags & 1) fuzz::write_gzip(images_file, images, images_size);
    else fuzz::write_file(images_file, images, images_size);
    if (flags & 2) fuzz::write_gzip(labels_file, labels.data(), labels.size());
    else fuzz::write_file(labels_file, labels.data(), labels.size());

    try {
        layerwise::data::load_dataset(images_file, labels_file, "fuzz", max_items);
    } catch (const layerwise::data::DataError&) {
    }
    return 0;
}
