// Dataset readers on files the tests write (good and corrupt), and on Fashion-MNIST when installed;
// per-channel statistics and normalization.
#include <unistd.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vktrain/data.hpp>
#include <vktrain/error.hpp>

namespace fs = std::filesystem;
using namespace vkt;
using Catch::Contains;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("vktrain-data-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_raw(const fs::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
  uLongf size = compressBound(uLong(bytes.size())) + 64;
  std::vector<uint8_t> out(size);
  // deflateInit2 with windowBits 15 + 16 writes a gzip (not zlib) stream.
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = uInt(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = uInt(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void write_gz(const fs::path& file, const std::vector<uint8_t>& bytes) {
  write_raw(file, gzip(bytes));
}

void put32(std::vector<uint8_t>& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(value >> shift));
}

// n images of 3x2 pixels (byte i of the payload is i % 251) and labels i % 10.
std::vector<uint8_t> idx_images(uint32_t n, uint32_t height = 3, uint32_t width = 2) {
  std::vector<uint8_t> bytes;
  put32(bytes, 0x00000803);
  put32(bytes, n);
  put32(bytes, height);
  put32(bytes, width);
  for (uint32_t i = 0; i < n * height * width; ++i) bytes.push_back(uint8_t(i % 251));
  return bytes;
}
std::vector<uint8_t> idx_labels(uint32_t n) {
  std::vector<uint8_t> bytes;
  put32(bytes, 0x00000801);
  put32(bytes, n);
  for (uint32_t i = 0; i < n; ++i) bytes.push_back(uint8_t(i % 10));
  return bytes;
}

void check_idx_contents(const data::Dataset& d, uint32_t n) {
  REQUIRE(d.count == n);
  CHECK(d.channels == 1);
  CHECK(d.height == 3);
  CHECK(d.width == 2);
  CHECK(d.num_classes == 10);
  REQUIRE(d.images.size() == n * 6);
  REQUIRE(d.labels.size() == n);
  for (uint32_t i = 0; i < n * 6; ++i)
    REQUIRE(d.images[i] == float(i % 251) / 255.0f);  // as torchvision's ToTensor
  for (uint32_t i = 0; i < n; ++i) REQUIRE(d.labels[i] == int32_t(i % 10));
}

std::vector<uint8_t> cifar_records(int count, int first_label) {
  std::vector<uint8_t> bytes;
  for (int record = 0; record < count; ++record) {
    bytes.push_back(uint8_t((first_label + record) % 10));
    for (int i = 0; i < 3072; ++i) bytes.push_back(uint8_t((record * 7 + i) % 256));
  }
  return bytes;
}

}  // namespace

TEST_CASE("data: IDX files, raw and gzipped", "[data]") {
  TempDir dir;
  const uint32_t n = 300;  // > 251 so the pixel pattern does not repeat per image
  write_raw(dir.path / "images.raw", idx_images(n));
  write_gz(dir.path / "images.gz", idx_images(n));
  write_raw(dir.path / "labels.raw", idx_labels(n));
  write_gz(dir.path / "labels.gz", idx_labels(n));
  write_gz(dir.path / "gzip-without-suffix", idx_images(n));  // gzip is told by its magic bytes
  for (const char* images : {"images.raw", "images.gz", "gzip-without-suffix"})
    for (const char* labels : {"labels.raw", "labels.gz"}) {
      INFO(images << " + " << labels);
      check_idx_contents(data::load_idx(dir.path / images, dir.path / labels), n);
    }

  // load_mnist_dir: .gz preferred, raw accepted, t10k for the test split.
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_images(7));
  write_raw(dir.path / "train-labels-idx1-ubyte", idx_labels(7));
  data::Dataset d = data::load_mnist_dir(dir.path, true);
  check_idx_contents(d, 7);
  CHECK(d.class_names == data::fashion_mnist_classes());
  CHECK(d.class_names.at(0) == "T-shirt/top");
  CHECK(d.class_names.at(9) == "Ankle boot");
  CHECK_THROWS_WITH(data::load_mnist_dir(dir.path, false), Contains("t10k-images-idx3-ubyte"));
}

TEST_CASE("data: corrupt IDX files are clear errors naming the file", "[data]") {
  TempDir dir;
  fs::path images = dir.path / "images-file", labels = dir.path / "labels-file";
  write_raw(labels, idx_labels(7));
  auto error_of = [&] {
    try {
      data::load_idx(images, labels);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };

  std::vector<uint8_t> bad_magic = idx_images(7);
  bad_magic[3] = 0x01;
  write_raw(images, bad_magic);
  CHECK_THAT(error_of(), Contains(images.string()) &&
                             Contains("bad IDX magic number 0x00000801, expected 0x00000803"));
  write_gz(images, bad_magic);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("bad IDX magic number"));

  // Truncated payload, raw (caught from the size on disk, before reading) and gzipped.
  std::vector<uint8_t> truncated = idx_images(7);
  truncated.resize(truncated.size() - 5);
  write_raw(images, truncated);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("truncated") &&
                             Contains("7 x 3 x 2 (58 bytes in all)") && Contains("holds 53 bytes"));
  write_gz(images, truncated);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("truncated") &&
                             Contains("7 images of 3 x 2 bytes (42 bytes after the header)") &&
                             Contains("ends after 37 bytes"));
  // Truncated header.
  write_raw(images, {0x00, 0x00, 0x08, 0x03, 0x00, 0x00});
  CHECK_THAT(error_of(), Contains(images.string()) &&
                             Contains("truncated IDX header: 6 bytes, expected 16 bytes"));
  write_raw(images, {0x00, 0x00});
  CHECK_THAT(error_of(), Contains("too short for an IDX header: 2 bytes"));
  // Trailing data.
  std::vector<uint8_t> longer = idx_images(7);
  longer.push_back(0);
  write_raw(images, longer);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("longer than its header declares"));
  write_gz(images, longer);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("longer than its header declares"));

  // Huge declared sizes are refused from the header alone, before any allocation.
  std::vector<uint8_t> huge = idx_images(7);
  huge[4] = 0x7f;  // 2,130,706,439 images of 3 x 2 bytes in a 58-byte file
  write_raw(images, huge);
  CHECK_THAT(error_of(),
             Contains(images.string()) && Contains("implausible dimensions 2130706439 x 3"));
  write_gz(images, huge);
  CHECK_THAT(error_of(), Contains("implausible dimensions"));
  std::vector<uint8_t> overflow;  // 2^32 - 1 cubed overflows 64 bits if multiplied blindly
  for (uint32_t word : {0x00000803u, 0xffffffffu, 0xffffffffu, 0xffffffffu}) put32(overflow, word);
  write_raw(images, overflow);
  CHECK_THAT(error_of(),
             Contains("implausible dimensions 4294967295 ...: more than the 2147483648 bytes"));
  // Within the limit but far beyond a small gzip stream: read until the data runs out.
  std::vector<uint8_t> big_claim;
  for (uint32_t word : {0x00000803u, 7u, 8192u, 8192u}) put32(big_claim, word);
  big_claim.resize(big_claim.size() + 1000, 0);
  write_gz(images, big_claim);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("truncated") &&
                             Contains("ends after 1000 bytes"));
  std::vector<uint8_t> zero_dim = idx_images(7);
  zero_dim[11] = 0;  // height 0
  write_raw(images, zero_dim);
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("dimension 1 is 0"));

  // Counts that disagree, labels out of range, a label file with the wrong magic.
  write_raw(images, idx_images(8));
  CHECK_THAT(error_of(), Contains(labels.string()) && Contains("holds 7 labels for 8 images"));
  std::vector<uint8_t> bad_label = idx_labels(8);
  bad_label.back() = 10;
  write_raw(labels, bad_label);
  CHECK_THAT(error_of(),
             Contains(labels.string()) && Contains("label 10 at index 7 is outside [0, 10)"));
  CHECK_NOTHROW(data::load_idx(images, labels, 11));  // label 10 is fine with 11 classes
  write_raw(labels, idx_images(8));
  CHECK_THAT(error_of(), Contains(labels.string()) && Contains("expected 0x00000801"));

  // Broken gzip: garbage after a gzip header, and a valid stream cut short.
  write_raw(labels, idx_labels(8));
  write_raw(images, {0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09});
  CHECK_THAT(error_of(), Contains(images.string()));
  CHECK_THAT(error_of(), Contains(images.string()) && Contains("corrupt gzip data"));
  write_raw(labels, idx_labels(300));
  std::vector<uint8_t> cut = gzip(idx_images(300));
  cut.resize(cut.size() / 2);
  write_raw(images, cut);
  CHECK_THAT(error_of(),
             Contains(images.string()) && Contains("corrupt gzip data (unexpected end of file)"));
  // A stream missing only its trailer (CRC and length) must not pass as a complete file either.
  std::vector<uint8_t> cut_trailer = gzip(idx_images(300));
  cut_trailer.resize(cut_trailer.size() - 4);
  write_raw(images, cut_trailer);
  CHECK_THAT(error_of(),
             Contains(images.string()) && Contains("corrupt gzip data (unexpected end of file)"));
  write_gz(images, idx_images(300));
  CHECK(error_of() == "no error");

  CHECK_THROWS_WITH(data::load_idx(dir.path / "missing", labels),
                    Contains("missing") && Contains("no such file"));
  CHECK_THROWS_WITH(data::load_idx(dir.path, labels), Contains("not a regular file"));
}

TEST_CASE("data: CIFAR-10 binary batches", "[data]") {
  TempDir dir;
  fs::path root = dir.path / "cifar-10-batches-bin";
  fs::create_directories(root);
  for (int i = 1; i <= 5; ++i)
    write_raw(root / ("data_batch_" + std::to_string(i) + ".bin"), cifar_records(2, i));
  write_raw(root / "test_batch.bin", cifar_records(3, 0));

  data::Dataset d = data::load_cifar10({root / "test_batch.bin"});
  CHECK(d.count == 3);
  CHECK(d.channels == 3);
  CHECK(d.height == 32);
  CHECK(d.width == 32);
  CHECK(d.num_classes == 10);
  CHECK(d.class_names.at(0) == "airplane");
  CHECK(d.class_names.at(9) == "truck");
  CHECK(d.labels == std::vector<int32_t>{0, 1, 2});
  REQUIRE(d.images.size() == 3 * 3072);
  for (int record = 0; record < 3; ++record)
    for (int i = 0; i < 3072; ++i)  // channel-major planes, as stored
      REQUIRE(d.images[size_t(record * 3072 + i)] == float((record * 7 + i) % 256) / 255.0f);

  // The directory form: the five training batches in order (labels 1,2 | 2,3 | ... | 5,6).
  data::Dataset train = data::load_cifar10_dir(dir.path, true);
  CHECK(train.count == 10);
  CHECK(train.labels == std::vector<int32_t>{1, 2, 2, 3, 3, 4, 4, 5, 5, 6});
  CHECK(data::load_cifar10_dir(root, false).count == 3);
  fs::remove(root / "data_batch_4.bin");
  CHECK_THROWS_WITH(data::load_cifar10_dir(dir.path, true), Contains("data_batch_4.bin"));

  fs::path file = dir.path / "corrupt.bin";
  std::vector<uint8_t> bytes = cifar_records(3, 0);
  bytes.pop_back();
  write_raw(file, bytes);
  CHECK_THROWS_WITH(data::load_cifar10({file}),
                    Contains(file.string()) && Contains("9218 bytes is not a whole"));
  write_gz(file, bytes);
  CHECK_THROWS_WITH(data::load_cifar10({file}),
                    Contains(file.string()) && Contains("9218 bytes is not a whole"));
  write_raw(file, {});
  CHECK_THROWS_WITH(data::load_cifar10({file}), Contains("0 bytes is not a whole, nonzero number"));
  bytes = cifar_records(3, 0);
  bytes[3073] = 12;
  write_raw(file, bytes);
  CHECK_THROWS_WITH(data::load_cifar10({file}),
                    Contains(file.string()) && Contains("label 12 of record 1 is outside [0, 10)"));
  CHECK_THROWS_WITH(data::load_cifar10({dir.path / "nothing.bin"}), Contains("no such file"));
}

TEST_CASE("data: Fashion-MNIST's test split", "[data]") {
  fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz") ||
      !fs::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist); skipped");
    return;
  }
  data::Dataset test = data::load_mnist_dir(dir, false);
  CHECK(test.count == 10000);
  CHECK(test.channels == 1);
  CHECK(test.height == 28);
  CHECK(test.width == 28);
  CHECK(test.images.size() == size_t(10000 * 28 * 28));
  std::vector<int> histogram(10, 0);
  for (int32_t label : test.labels) ++histogram[size_t(label)];
  CHECK(histogram == std::vector<int>(10, 1000));
  auto [lo, hi] = std::minmax_element(test.images.begin(), test.images.end());
  CHECK(*lo == 0.0f);
  CHECK(*hi == 1.0f);
  auto [mean, std] = data::channel_stats(test);
  CHECK(mean[0] == Approx(0.286).epsilon(0.02));  // Fashion-MNIST's well-known statistics
  CHECK(std[0] == Approx(0.353).epsilon(0.02));
}

TEST_CASE("data: per-channel statistics and normalization", "[data]") {
  data::Dataset d;
  d.count = 5;
  d.channels = 3;
  d.height = 3;
  d.width = 4;
  d.num_classes = 2;
  for (int64_t i = 0; i < d.count * d.image_size(); ++i)
    d.images.push_back(float(std::sin(double(i) * 1.7) * 0.5 + 0.5 + 0.1 * double((i / 12) % 3)));
  d.labels.assign(5, 1);
  // float64 reference: over all images and pixels of a channel, population std.
  std::vector<double> mean(3, 0.0), var(3, 0.0);
  for (int64_t n = 0; n < 5; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 12; ++p)
        mean[size_t(c)] += d.images[size_t((n * 3 + c) * 12 + p)] / 60.0;
  for (int64_t n = 0; n < 5; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 12; ++p) {
        double e = d.images[size_t((n * 3 + c) * 12 + p)] - mean[size_t(c)];
        var[size_t(c)] += e * e / 60.0;
      }
  auto [m, s] = data::channel_stats(d);
  for (size_t c = 0; c < 3; ++c) {
    CHECK(m[c] == Approx(mean[c]).epsilon(1e-6));
    CHECK(s[c] == Approx(std::sqrt(var[c])).epsilon(1e-6));
  }
  data::Dataset normalized = d;
  data::normalize(normalized, m, s);
  for (size_t i = 0; i < d.images.size(); ++i) {
    size_t c = (i / 12) % 3;
    REQUIRE(normalized.images[i] == (d.images[i] - m[c]) / s[c]);  // (x − mean) / std, as Normalize
  }
  auto [m2, s2] = data::channel_stats(normalized);
  for (size_t c = 0; c < 3; ++c) {
    CHECK(m2[c] == Approx(0.0).margin(1e-6));
    CHECK(s2[c] == Approx(1.0).epsilon(1e-5));
  }
  CHECK_THROWS_WITH(data::normalize(normalized, {0.f, 0.f}, {1.f, 1.f}),
                    Contains("one value per channel (3)"));
  CHECK_THROWS_WITH(data::normalize(normalized, {0.f, 0.f, 0.f}, {1.f, 0.f, 1.f}),
                    Contains("channel 1"));
}
