// The IDX reader and the MNIST-style loader on small files written in a temporary
// directory: valid plain and gzip files, and each way a file can be wrong, with the
// message it must give.
#include "testing.hpp"

#include <layerwise/data/idx.hpp>
#include <layerwise/data/mnist.hpp>

#include <doctest/doctest.h>

#include <zlib.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using layerwise::testing::TempDir;
using namespace layerwise::data;
using Bytes = std::vector<std::uint8_t>;

namespace {


// An IDX header: 0x00 0x00 type rank, then each size as a big-endian uint32.
Bytes idx_header(const std::vector<std::uint32_t>& shape, std::uint8_t type = 0x08) {
    Bytes b = {0, 0, type, std::uint8_t(shape.size())};
    for (std::uint32_t s : shape)
        for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::uint8_t(s >> shift));
    return b;
}

// n bytes 0, 1, 2, ... (mod 251, so that no pattern repeats at a power of two).
Bytes ramp(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(i % 251);
    return b;
}

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void write_file(const fs::path& p, const Bytes& b) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    REQUIRE(out.good());
}

void write_gzip(const fs::path& p, const Bytes& b) {
    gzFile gz = gzopen(p.c_str(), "wb");
    REQUIRE(gz != nullptr);
    REQUIRE(gzwrite(gz, b.data(), unsigned(b.size())) == int(b.size()));
    REQUIRE(gzclose(gz) == Z_OK);
}

Bytes read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The message of the DataError f throws; "(no error)" if it throws none.
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    }
    return "(no error)";
}

// f throws a DataError whose message starts with "path: " and contains each fragment.
void check_error(const std::function<void()>& f, const fs::path& path, const std::vector<std::string>& fragments) {
    const std::string e = error_of(f);
    INFO("message: ", e);
    CHECK(e.starts_with(path.string() + ": "));
    for (const auto& fragment : fragments) CHECK(e.find(fragment) != std::string::npos);
}

// Writes a images file (n x rows x cols) and a labels file, plain.
void write_pair(const fs::path& images, const fs::path& labels, std::uint32_t n, const Bytes& label_bytes,
                std::uint32_t rows = 28, std::uint32_t cols = 28) {
    write_file(images, idx_header({n, rows, cols}) + ramp(std::size_t(n) * rows * cols));
    write_file(labels, idx_header({std::uint32_t(label_bytes.size())}) + label_bytes);
}

}  // namespace

TEST_CASE("read_idx reads a plain file: shape and bytes") {
    TempDir dir("idx");
    write_file(dir / "a", idx_header({2, 3, 4}) + ramp(24));
    const IdxArray a = read_idx(dir / "a", 3);
    CHECK(a.shape == std::vector<std::size_t>{2, 3, 4});
    CHECK(a.bytes == ramp(24));

    write_file(dir / "labels", idx_header({5}) + Bytes{9, 0, 3, 7, 1});
    const IdxArray l = read_idx(dir / "labels", 1);
    CHECK(l.shape == std::vector<std::size_t>{5});
    CHECK(l.bytes == Bytes{9, 0, 3, 7, 1});

    // Without an expected rank, any rank is accepted.
    write_file(dir / "m", idx_header({2, 2}) + ramp(4));
    CHECK(read_idx(dir / "m").shape == std::vector<std::size_t>{2, 2});
}

TEST_CASE("read_idx reads gzip files, recognised by their magic whatever their name") {
    TempDir dir("idx");
    const Bytes file = idx_header({2, 3, 4}) + ramp(24);
    write_gzip(dir / "a.gz", file);
    write_gzip(dir / "no-suffix", file);
    for (const char* name : {"a.gz", "no-suffix"}) {
        const IdxArray a = read_idx(dir / name, 3);
        CHECK(a.shape == std::vector<std::size_t>{2, 3, 4});
        CHECK(a.bytes == ramp(24));
    }
}

TEST_CASE("read_idx reads data larger than its 1 MiB chunk, plain and gzip") {
    TempDir dir("idx");
    const Bytes file = idx_header({3, 700, 1000}) + ramp(2'100'000);
    write_file(dir / "big", file);
    write_gzip(dir / "big.gz", file);
    for (const char* name : {"big", "big.gz"}) {
        const IdxArray a = read_idx(dir / name, 3);
        CHECK(a.shape == std::vector<std::size_t>{3, 700, 1000});
        CHECK(a.bytes == ramp(2'100'000));
    }
}

TEST_CASE("read_idx: missing file, directory, empty file") {
    TempDir dir("idx");
    check_error([&] { read_idx(dir / "nope", 3); }, dir / "nope", {"no such file"});
    check_error([&] { read_idx(dir.path, 3); }, dir.path, {"not a regular file"});
    write_file(dir / "empty", {});
    check_error([&] { read_idx(dir / "empty", 3); }, dir / "empty", {"empty file"});
    write_gzip(dir / "empty.gz", {});
    check_error([&] { read_idx(dir / "empty.gz", 3); }, dir / "empty.gz", {"empty file"});
}

TEST_CASE("read_idx: truncated header") {
    TempDir dir("idx");
    write_file(dir / "magic", {0, 0, 8});
    check_error([&] { read_idx(dir / "magic", 3); }, dir / "magic",
                {"truncated header: file has 3 bytes, an IDX header needs at least 4"});
    Bytes cut = idx_header({60000, 28, 28});
    cut.resize(10);
    write_file(dir / "sizes", cut);
    check_error([&] { read_idx(dir / "sizes", 3); }, dir / "sizes",
                {"truncated header: an IDX header with 3 dimensions needs 16 bytes, file has 10"});
    write_gzip(dir / "sizes.gz", cut);
    check_error([&] { read_idx(dir / "sizes.gz", 3); }, dir / "sizes.gz", {"needs 16 bytes, decompressed file has 10"});
}

TEST_CASE("read_idx: wrong magic, element type and dimension count") {
    TempDir dir("idx");
    write_file(dir / "magic", Bytes{0x01, 0x02, 0x08, 0x01} + Bytes{0, 0, 0, 1, 7});
    check_error([&] { read_idx(dir / "magic", 1); }, dir / "magic", {"not an IDX file", "0x01 0x02"});

    write_file(dir / "float", idx_header({2}, 0x0D) + Bytes(8));
    check_error([&] { read_idx(dir / "float", 1); }, dir / "float",
                {"unsupported element type 0x0d (float32); only 0x08 (unsigned byte) is supported"});

    write_file(dir / "rank2", idx_header({2, 2}) + ramp(4));
    check_error([&] { read_idx(dir / "rank2", 3); }, dir / "rank2", {"the header says 2 dimensions, expected 3"});
    check_error([&] { read_idx(dir / "rank2", 1); }, dir / "rank2", {"the header says 2 dimensions, expected 1"});

    write_file(dir / "rank0", idx_header({}));
    check_error([&] { read_idx(dir / "rank0"); }, dir / "rank0", {"0 dimensions"});
}

TEST_CASE("read_idx: the data must be exactly as long as the header says") {
    TempDir dir("idx");
    write_file(dir / "short", idx_header({3, 2, 2}) + ramp(10));
    CHECK(error_of([&] { read_idx(dir / "short", 3); }) ==
          (dir / "short").string() + ": truncated: header says 3 x 2 x 2 = 12 bytes of data, file has 10 after the 16-byte header");

    write_file(dir / "long", idx_header({3, 2, 2}) + ramp(15));
    CHECK(error_of([&] { read_idx(dir / "long", 3); }) ==
          (dir / "long").string() + ": trailing bytes: header says 3 x 2 x 2 = 12 bytes of data, file has 15 after the 16-byte header");

    write_file(dir / "labels", idx_header({4}) + ramp(3));
    CHECK(error_of([&] { read_idx(dir / "labels", 1); }) ==
          (dir / "labels").string() + ": truncated: header says 4 bytes of data, file has 3 after the 8-byte header");

    write_file(dir / "no-data", idx_header({60000, 28, 28}));
    check_error([&] { read_idx(dir / "no-data", 3); }, dir / "no-data",
                {"truncated: header says 60000 x 28 x 28 = 47040000 bytes of data, file has 0 after the 16-byte header"});

    write_gzip(dir / "short.gz", idx_header({3, 2, 2}) + ramp(10));
    check_error([&] { read_idx(dir / "short.gz", 3); }, dir / "short.gz",
                {"truncated: header says 3 x 2 x 2 = 12 bytes of data, decompressed file has 10 after the 16-byte header"});
    write_gzip(dir / "long.gz", idx_header({3, 2, 2}) + ramp(15));
    check_error([&] { read_idx(dir / "long.gz", 3); }, dir / "long.gz",
                {"trailing bytes: header says 3 x 2 x 2 = 12 bytes of data, decompressed file has 15 after the 16-byte header"});
}

TEST_CASE("read_idx: an oversized header is refused at once, without allocating") {
    TempDir dir("idx");
    const auto start = std::chrono::steady_clock::now();

    write_file(dir / "huge", idx_header({4'000'000'000u, 4'000'000'000u, 1}) + ramp(16));
    check_error([&] { read_idx(dir / "huge", 3); }, dir / "huge",
                {"header says 4000000000 x 4000000000 x 1: more than the limit of 2147483648 bytes"});

    // The largest sizes: their product would overflow 64 bits.
    write_file(dir / "max", idx_header({0xffffffffu, 0xffffffffu, 0xffffffffu}));
    check_error([&] { read_idx(dir / "max", 3); }, dir / "max", {"more than the limit"});

    // Just over the limit, and exactly at it: the latter is allowed, but the buffer only
    // grows with the data that is really there, so a 20-byte file fails fast too.
    write_file(dir / "over", idx_header({2, 1024, 1048577}) + ramp(20));
    check_error([&] { read_idx(dir / "over", 3); }, dir / "over", {"more than the limit"});
    write_file(dir / "at", idx_header({2, 1024, 1048576}) + ramp(20));
    check_error([&] { read_idx(dir / "at", 3); }, dir / "at",
                {"truncated: header says 2 x 1024 x 1048576 = 2147483648 bytes of data, file has 20 after the 16-byte header"});

    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("read_idx: a corrupt or truncated gzip stream is an error, not a hang") {
    TempDir dir("idx");
    const Bytes file = idx_header({4, 28, 28}) + ramp(4 * 28 * 28);
    write_gzip(dir / "good.gz", file);
    const Bytes gz = read_file(dir / "good.gz");
    REQUIRE(gz.size() > 40);

    Bytes bad_crc = gz;  // the trailer is CRC-32, then the length
    bad_crc[gz.size() - 8] ^= 0xff;
    write_file(dir / "bad-crc.gz", bad_crc);
    CHECK(error_of([&] { read_idx(dir / "bad-crc.gz", 3); }) ==
          (dir / "bad-crc.gz").string() + ": corrupt or truncated gzip stream: incorrect data check");

    Bytes cut = gz;  // the stream stops half-way
    cut.resize(gz.size() / 2);
    write_file(dir / "cut.gz", cut);
    CHECK(error_of([&] { read_idx(dir / "cut.gz", 3); }) ==
          (dir / "cut.gz").string() + ": corrupt or truncated gzip stream: unexpected end of file");

    Bytes no_trailer = gz;  // all the data, but not the CRC that vouches for it
    no_trailer.resize(gz.size() - 8);
    write_file(dir / "no-trailer.gz", no_trailer);
    check_error([&] { read_idx(dir / "no-trailer.gz", 3); }, dir / "no-trailer.gz",
                {"corrupt or truncated gzip stream"});

    write_file(dir / "garbage.gz", Bytes{0x1f, 0x8b} + ramp(100));  // gzip magic, then nonsense
    check_error([&] { read_idx(dir / "garbage.gz", 3); }, dir / "garbage.gz", {"corrupt or truncated gzip stream"});

    write_file(dir / "magic-only.gz", Bytes{0x1f, 0x8b});
    check_error([&] { read_idx(dir / "magic-only.gz", 3); }, dir / "magic-only.gz",
                {"corrupt or truncated gzip stream"});

    // Flipped bytes in the middle of the compressed data: whatever inflate makes of
    // them, the result is a DataError naming the file.
    for (std::size_t at = 12; at < gz.size() - 8; at += 7) {
        Bytes flipped = gz;
        flipped[at] ^= 0x5a;
        write_file(dir / "flipped.gz", flipped);
        CHECK(error_of([&] { read_idx(dir / "flipped.gz", 3); }).starts_with((dir / "flipped.gz").string() + ": "));
    }
}

TEST_CASE("load_dataset: pixels in [0, 1], labels as ints") {
    TempDir dir("idx");
    Bytes pixels(2 * 784, 0);
    pixels[1] = 255;
    pixels[784 + 5] = 51;
    write_file(dir / "images", idx_header({2, 28, 28}) + pixels);
    write_gzip(dir / "labels.gz", idx_header({2}) + Bytes{9, 0});
    const Dataset d = load_dataset(dir / "images", dir / "labels.gz", "tiny");
    CHECK(d.name == "tiny");
    CHECK(d.size() == 2);
    CHECK(d.images.shape(0) == 2);
    CHECK(d.images.shape(1) == 784);
    CHECK(d.images(0, 0) == 0.0f);
    CHECK(d.images(0, 1) == 1.0f);
    CHECK(d.images(1, 5) == doctest::Approx(0.2f));
    CHECK(d.labels == std::vector<int>{9, 0});
}

TEST_CASE("load_dataset: count mismatch, label out of range, wrong image size, no images") {
    TempDir dir("idx");
    write_pair(dir / "images", dir / "labels", 3, {1, 2});
    check_error([&] { load_dataset(dir / "images", dir / "labels", "x"); }, dir / "labels",
                {"2 labels, but " + (dir / "images").string() + " has 3 images"});

    write_pair(dir / "images", dir / "labels", 3, {1, 12, 3});
    check_error([&] { load_dataset(dir / "images", dir / "labels", "x"); }, dir / "labels",
                {"label 12 at index 1 is outside 0..9"});

    write_pair(dir / "images", dir / "labels", 3, {1, 2, 3}, 32, 32);
    check_error([&] { load_dataset(dir / "images", dir / "labels", "x"); }, dir / "images",
                {"images are 32 x 32 pixels, expected 28 x 28"});

    write_pair(dir / "images", dir / "labels", 0, {});
    check_error([&] { load_dataset(dir / "images", dir / "labels", "x"); }, dir / "images", {"contains no images"});

    // Labels given where images belong, and the other way round: the rank check says so.
    write_pair(dir / "images", dir / "labels", 3, {1, 2, 3});
    check_error([&] { load_dataset(dir / "labels", dir / "images", "x"); }, dir / "labels",
                {"1 dimensions, expected 3"});
}

TEST_CASE("load_mnist and load_fashion_mnist find plain or .gz files, and say how to get missing ones") {
    TempDir dir("idx");
    write_pair(dir / "train-images-idx3-ubyte", dir / "train-labels-idx1-ubyte", 3, {5, 0, 4});
    write_gzip(dir / "t10k-images-idx3-ubyte.gz", idx_header({2, 28, 28}) + ramp(2 * 784));
    write_gzip(dir / "t10k-labels-idx1-ubyte.gz", idx_header({2}) + Bytes{7, 2});

    const Split s = load_mnist(dir.path);
    CHECK(s.train.name == "mnist/train");
    CHECK(s.test.name == "mnist/test");
    CHECK(s.train.labels == std::vector<int>{5, 0, 4});
    CHECK(s.test.labels == std::vector<int>{7, 2});
    CHECK(s.test.images(1, 0) == doctest::Approx(float(784 % 251) / 255.0f));
    CHECK(load_fashion_mnist(dir.path).train.name == "fashion-mnist/train");

    fs::remove(dir / "t10k-labels-idx1-ubyte.gz");
    check_error([&] { load_mnist(dir.path); }, dir.path,
                {"missing t10k-labels-idx1-ubyte (plain or .gz); run scripts/fetch_mnist.sh or pass --data DIR"});
    fs::remove(dir / "train-images-idx3-ubyte");  // two missing: both named, in a fixed order
    check_error([&] { load_mnist(dir.path); }, dir.path,
                {"missing train-images-idx3-ubyte, t10k-labels-idx1-ubyte (plain or .gz)"});

    check_error([&] { load_mnist(dir / "absent"); }, dir / "absent",
                {"no such directory; run scripts/fetch_mnist.sh or pass --data DIR"});
    check_error([&] { load_mnist(dir / "train-labels-idx1-ubyte"); }, dir / "train-labels-idx1-ubyte",
                {"not a directory"});
    check_error([&] { load_fashion_mnist(dir / "absent"); }, dir / "absent",
                {"no such directory", "dataset-fashion-mnist", "--data DIR"});
}

namespace {
// Peak resident memory of this process so far, in bytes (Linux reports kilobytes).
std::size_t peak_rss() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return std::size_t(u.ru_maxrss) * 1024;
}

// A gzip file of a few megabytes that inflates to header + `gigabytes` of zeros: the zeros
// are one gzip member of 64 MiB repeated (concatenated members are one stream to zlib and gunzip).
void write_gzip_bomb(const fs::path& p, const Bytes& header, std::size_t gigabytes) {
    auto member = [](const Bytes& data) {
        z_stream z{};
        REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);  // +16: gzip wrapper
        Bytes out(deflateBound(&z, uLong(data.size())));
        z.next_in = const_cast<Bytef*>(data.data());
        z.avail_in = uInt(data.size());
        z.next_out = out.data();
        z.avail_out = uInt(out.size());
        REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
        out.resize(z.total_out);
        deflateEnd(&z);
        return out;
    };
    const Bytes zeros = member(Bytes(std::size_t(64) << 20, 0));
    std::ofstream out(p, std::ios::binary);
    const Bytes head = member(header);
    out.write(reinterpret_cast<const char*>(head.data()), std::streamsize(head.size()));
    for (std::size_t k = 0; k < gigabytes * 16; ++k)
        out.write(reinterpret_cast<const char*>(zeros.data()), std::streamsize(zeros.size()));
    REQUIRE(out.good());
}
}  // namespace

TEST_CASE("a gzip bomb is refused at once, by name, in bounded memory") {
    TempDir dir("idx");
    // The header promises 2,739,137 images (2.1 GB of pixels) in a file of a few MB.
    write_gzip_bomb(dir / "train-images-idx3-ubyte.gz", idx_header({2739137, 28, 28}), 2);
    CHECK(fs::file_size(dir / "train-images-idx3-ubyte.gz") < (std::size_t(8) << 20));
    write_file(dir / "train-labels-idx1-ubyte", idx_header({3}) + Bytes{1, 2, 3});
    const auto start = std::chrono::steady_clock::now();
    check_error([&] { load_dataset(dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte", "x"); },
                dir / "train-images-idx3-ubyte.gz",
                {"header says 2739137 x 28 x 28: more than the limit of 60000 images; refusing to read it"});
    // An honest header (3 images) followed by 2 GB more: refused after one small block.
    write_gzip_bomb(dir / "honest-header.gz", idx_header({3, 28, 28}) + Bytes(3 * 784, 7), 2);
    check_error([&] { load_dataset(dir / "honest-header.gz", dir / "train-labels-idx1-ubyte", "x"); },
                dir / "honest-header.gz", {"trailing bytes: header says 3 x 28 x 28 = 2352 bytes of data"});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("refusing both took " << seconds << " s");
    CHECK(peak_rss() < (std::size_t(1) << 30));  // the whole test process, bombs built in memory included
    // and the limit is the caller's: a larger data set passes a larger one
    write_file(dir / "three-images", idx_header({3, 28, 28}) + Bytes(3 * 784, 7));
    check_error([&] { load_dataset(dir / "three-images", dir / "train-labels-idx1-ubyte", "x", 2); },
                dir / "three-images", {"more than the limit of 2 images"});
    CHECK(load_dataset(dir / "three-images", dir / "train-labels-idx1-ubyte", "x", 3).size() == 3);
}
