// Dataset readers on files the tests write (good and corrupt), and on Fashion-MNIST when installed.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <vktrain/data.hpp>
#include <vktrain/error.hpp>

namespace fs = std::filesystem;
using namespace vkt;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("vktrain-data-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

void write_raw(const fs::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_gz(const fs::path& file, const std::vector<uint8_t>& bytes) {
  gzFile out = gzopen(file.c_str(), "wb");
  gzwrite(out, bytes.data(), unsigned(bytes.size()));
  gzclose(out);
}

void put32(std::vector<uint8_t>& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(value >> shift));
}

// n images of 3x2 pixels (pixel value = image index * 6 + position) and labels n % 10.
std::vector<uint8_t> idx_images(uint32_t n) {
  std::vector<uint8_t> bytes;
  put32(bytes, 0x00000803);
  put32(bytes, n);
  put32(bytes, 3);
  put32(bytes, 2);
  for (uint32_t i = 0; i < n * 6; ++i) bytes.push_back(uint8_t(i % 251));
  return bytes;
}
std::vector<uint8_t> idx_labels(uint32_t n) {
  std::vector<uint8_t> bytes;
  put32(bytes, 0x00000801);
  put32(bytes, n);
  for (uint32_t i = 0; i < n; ++i) bytes.push_back(uint8_t(i % 10));
  return bytes;
}

}  // namespace

TEST_CASE("data: IDX files, raw and gzipped", "[data]") {
  TempDir dir;
  write_gz(dir.path / "train-images-idx3-ubyte.gz", idx_images(7));
  write_raw(dir.path / "train-labels-idx1-ubyte", idx_labels(7));
  data::Dataset d = data::load_mnist_dir(dir.path, true);
  CHECK(d.count == 7);
  CHECK(d.channels == 1);
  CHECK(d.height == 3);
  CHECK(d.width == 2);
  CHECK(d.images[13] == Approx(13 / 255.0f));
  CHECK(d.labels[6] == 6);
  CHECK(d.class_names.at(9) == "Ankle boot");
  CHECK_THROWS_WITH(data::load_mnist_dir(dir.path, false), Catch::Contains("t10k-images-idx3-ubyte"));
}

TEST_CASE("data: corrupt IDX files are clear errors naming the file", "[data]") {
  TempDir dir;
  fs::path images = dir.path / "images", labels = dir.path / "labels";
  write_raw(labels, idx_labels(7));

  std::vector<uint8_t> bad_magic = idx_images(7);
  bad_magic[3] = 0x01;
  write_raw(images, bad_magic);
  CHECK_THROWS_WITH(data::load_idx(images, labels),
                    Catch::Contains("images") && Catch::Contains("bad IDX magic number 0x00000801, expected 0x00000803"));

  std::vector<uint8_t> truncated = idx_images(7);
  truncated.resize(truncated.size() - 5);
  write_gz(images, truncated);
  CHECK_THROWS_WITH(data::load_idx(images, labels), Catch::Contains("truncated"));

  std::vector<uint8_t> huge = idx_images(7);
  huge[4] = 0x7f;  // declares 2 billion images in a tiny file
  write_raw(images, huge);
  CHECK_THROWS_WITH(data::load_idx(images, labels), Catch::Contains("implausible dimension"));

  write_raw(images, idx_images(8));
  CHECK_THROWS_WITH(data::load_idx(images, labels), Catch::Contains("holds 7 labels for 8 images"));

  std::vector<uint8_t> bad_label = idx_labels(8);
  bad_label.back() = 10;
  write_raw(labels, bad_label);
  CHECK_THROWS_WITH(data::load_idx(images, labels), Catch::Contains("label 10 at index 7 is outside [0, 10)"));

  write_raw(images, {0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02});  // a gzip header with garbage after it
  CHECK_THROWS_AS(data::load_idx(images, labels), Error);
  CHECK_THROWS_WITH(data::load_idx(dir.path / "missing", labels), Catch::Contains("no such file"));
}

TEST_CASE("data: CIFAR-10 binary batches", "[data]") {
  TempDir dir;
  std::vector<uint8_t> bytes;
  for (int record = 0; record < 3; ++record) {
    bytes.push_back(uint8_t(record * 3));
    for (int i = 0; i < 3072; ++i) bytes.push_back(uint8_t((record + i) % 256));
  }
  fs::path file = dir.path / "data_batch_1.bin";
  write_raw(file, bytes);
  data::Dataset d = data::load_cifar10({file});
  CHECK(d.count == 3);
  CHECK(d.channels == 3);
  CHECK(d.labels == std::vector<int32_t>{0, 3, 6});
  CHECK(d.images[3072 + 1024] == Approx(float((1 + 1024) % 256) / 255.0f));  // record 1, channel 1
  bytes.pop_back();
  write_raw(file, bytes);
  CHECK_THROWS_WITH(data::load_cifar10({file}), Catch::Contains("not a whole number"));
  bytes.push_back(0);
  bytes[3073] = 12;
  write_raw(file, bytes);
  CHECK_THROWS_WITH(data::load_cifar10({file}), Catch::Contains("label 12 of record 1"));
}

TEST_CASE("data: Fashion-MNIST's test split", "[data]") {
  fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist); skipped");
    return;
  }
  data::Dataset test = data::load_mnist_dir(dir, false);
  CHECK(test.count == 10000);
  CHECK(test.height == 28);
  CHECK(test.width == 28);
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
