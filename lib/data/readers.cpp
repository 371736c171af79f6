// IDX (MNIST / Fashion-MNIST) and CIFAR-10 readers with full validation before any allocation.
#include <zlib.h>

#include <cstring>
#include <fstream>

#include "vktrain/data.hpp"
#include "vktrain/error.hpp"

namespace vkt::data {

namespace {

// No dataset file we read comes near this; it stops a hostile compressed stream from filling memory.
constexpr uint64_t kMaxFile = uint64_t(4) << 30;

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& what) {
  throw Error("data: " + file.string() + ": " + what);
}

// The whole (decompressed) content of a file, refusing more than `limit` bytes.
std::vector<uint8_t> read_file(const std::filesystem::path& file, uint64_t limit) {
  if (!std::filesystem::exists(file)) bad(file, "no such file");
  gzFile in = gzopen(file.c_str(), "rb");  // reads gzip and, transparently, raw files
  if (!in) bad(file, "cannot open");
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    int n = gzread(in, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(in, &code);
      gzclose(in);
      bad(file, "corrupt compressed data (" + message + ")");
    }
    if (n == 0) break;
    if (bytes.size() + size_t(n) > limit) {
      gzclose(in);
      bad(file, "larger than the " + std::to_string(limit) + " bytes its header allows");
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  gzclose(in);
  return bytes;
}

uint32_t big_endian(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// IDX header: magic (0, 0, type 0x08 = ubyte, rank), then rank big-endian dimensions.
std::vector<uint32_t> idx_dims(const std::filesystem::path& file, const std::vector<uint8_t>& bytes,
                               uint32_t magic) {
  if (bytes.size() < 4) bad(file, "too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)");
  uint32_t found = big_endian(bytes.data());
  if (found != magic) {
    char message[96];
    std::snprintf(message, sizeof message, "bad IDX magic number 0x%08x, expected 0x%08x", found, magic);
    bad(file, message);
  }
  uint32_t rank = magic & 0xff;
  if (bytes.size() < 4 + 4 * rank) bad(file, "truncated IDX header");
  std::vector<uint32_t> dims(rank);
  uint64_t elements = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    dims[i] = big_endian(bytes.data() + 4 + 4 * i);
    if (dims[i] == 0 || dims[i] > (1u << 28)) bad(file, "implausible dimension " + std::to_string(dims[i]));
    elements *= dims[i];
    if (elements > (uint64_t(1) << 34)) bad(file, "declared size overflows");
  }
  uint64_t expected = 4 + 4 * rank + elements;
  if (bytes.size() != expected)
    bad(file, "holds " + std::to_string(bytes.size()) + " bytes, its header declares " +
                  std::to_string(expected) + (bytes.size() < expected ? " (truncated)" : ""));
  return dims;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 int num_classes) {
  std::vector<uint8_t> image_bytes = read_file(images, kMaxFile);
  std::vector<uint32_t> dims = idx_dims(images, image_bytes, 0x00000803);
  std::vector<uint8_t> label_bytes = read_file(labels, kMaxFile);
  std::vector<uint32_t> label_dims = idx_dims(labels, label_bytes, 0x00000801);
  if (label_dims[0] != dims[0])
    bad(labels, "holds " + std::to_string(label_dims[0]) + " labels for " + std::to_string(dims[0]) +
                    " images in " + images.string());
  Dataset dataset;
  dataset.count = dims[0];
  dataset.channels = 1;
  dataset.height = dims[1];
  dataset.width = dims[2];
  dataset.num_classes = num_classes;
  const uint8_t* pixels = image_bytes.data() + 16;
  dataset.images.resize(image_bytes.size() - 16);
  for (size_t i = 0; i < dataset.images.size(); ++i) dataset.images[i] = float(pixels[i]) / 255.0f;
  dataset.labels.resize(dims[0]);
  for (size_t i = 0; i < dataset.labels.size(); ++i) {
    uint8_t label = label_bytes[8 + i];
    if (label >= num_classes)
      bad(labels, "label " + std::to_string(label) + " at index " + std::to_string(i) +
                      " is outside [0, " + std::to_string(num_classes) + ")");
    dataset.labels[i] = label;
  }
  if (num_classes == 10) dataset.class_names = fashion_mnist_classes();
  return dataset;
}

Dataset load_mnist_dir(const std::filesystem::path& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  auto find = [&](const std::string& stem) {
    for (const char* suffix : {".gz", ""}) {
      std::filesystem::path candidate = dir / (prefix + stem + suffix);
      if (std::filesystem::exists(candidate)) return candidate;
    }
    throw Error("data: no " + prefix + stem + "[.gz] in " + dir.string() +
                " (Fashion-MNIST: apt-get install dataset-fashion-mnist, then --data "
                "/usr/share/datasets/fashion-mnist)");
  };
  std::filesystem::path images = find("-images-idx3-ubyte");
  std::filesystem::path labels = find("-labels-idx1-ubyte");
  return load_idx(images, labels);
}

Dataset load_cifar10(const std::vector<std::filesystem::path>& batch_files) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  Dataset dataset;
  dataset.channels = 3;
  dataset.height = dataset.width = 32;
  dataset.num_classes = 10;
  dataset.class_names = {"airplane", "automobile", "bird", "cat", "deer",
                         "dog",      "frog",       "horse", "ship", "truck"};
  for (const auto& file : batch_files) {
    std::vector<uint8_t> bytes = read_file(file, kMaxFile);
    if (bytes.empty() || bytes.size() % kRecord != 0)
      bad(file, std::to_string(bytes.size()) + " bytes is not a whole number of " +
                    std::to_string(kRecord) + "-byte CIFAR-10 records");
    int64_t records = int64_t(bytes.size()) / kRecord;
    for (int64_t r = 0; r < records; ++r) {
      const uint8_t* record = bytes.data() + r * kRecord;
      if (record[0] >= 10)
        bad(file, "label " + std::to_string(record[0]) + " of record " + std::to_string(r) +
                      " is outside [0, 10)");
      dataset.labels.push_back(record[0]);
      for (int64_t i = 1; i < kRecord; ++i) dataset.images.push_back(float(record[i]) / 255.0f);
    }
    dataset.count += records;
  }
  return dataset;
}

}  // namespace vkt::data
