// IDX (MNIST / Fashion-MNIST) and CIFAR-10 readers.
//
// Headers are read and validated first (magic, dimensions, counts agreeing between the image and
// label files, declared sizes that would overflow), and raw files are checked against their size on
// disk, all before the payload is allocated. A gzip file's size says little about its content, so
// its payload is read in chunks that grow only as data actually arrives: a header that lies about
// the size of a small compressed file costs a few chunks, not the memory it declares.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "vktrain/data.hpp"
#include "vktrain/error.hpp"

namespace vkt::data {

namespace {

// The largest payload a reader accepts (bytes before conversion to float32; 4x that after).
// Fashion-MNIST's training images are 47 MB; CIFAR-10's five batches 154 MB.
constexpr uint64_t kMaxPayload = uint64_t(1) << 31;
constexpr size_t kChunk = size_t(1) << 20;

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& what) {
  throw Error("data: " + file.string() + ": " + what);
}

std::string bytes_str(uint64_t bytes) {
  return std::to_string(bytes) + " bytes";
}

// A file read through zlib: gzip streams are inflated, anything else is read as it is.
class Source {
 public:
  explicit Source(std::filesystem::path file) : file_(std::move(file)) {
    std::error_code error;
    if (!std::filesystem::exists(file_, error)) bad(file_, "no such file");
    if (!std::filesystem::is_regular_file(file_, error)) bad(file_, "not a regular file");
    // gzip is recognised by its magic bytes 0x1f 0x8b (as gzopen itself does), whatever the name.
    unsigned char magic[2] = {0, 0};
    std::ifstream probe(file_, std::ios::binary);
    probe.read(reinterpret_cast<char*>(magic), 2);
    gzip_ = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    disk_size_ = std::filesystem::file_size(file_, error);
    handle_ = gzopen(file_.c_str(), "rb");
    if (!handle_) bad(file_, "cannot open");
    gzbuffer(handle_, 1 << 17);
  }
  ~Source() { gzclose(handle_); }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  const std::filesystem::path& file() const { return file_; }
  bool gzip() const { return gzip_; }
  // Bytes on disk; for a raw file that is the exact content size.
  uint64_t disk_size() const { return disk_size_; }
  uint64_t consumed() const { return consumed_; }

  // zlib's message for the last error, without the file name it puts in front.
  [[noreturn]] void corrupt() {
    int code = 0;
    std::string message = gzerror(handle_, &code);
    const std::string prefix = file_.string() + ": ";
    if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
    bad(file_, "corrupt gzip data (" + message + ")");
  }

  // Reads up to n bytes; fewer only at the end of the content.
  size_t read(uint8_t* destination, size_t n) {
    size_t total = 0;
    while (total < n) {
      unsigned want = unsigned(std::min<size_t>(n - total, size_t(1) << 30));
      int got = gzread(handle_, destination + total, want);
      if (got < 0) corrupt();
      if (got == 0) {
        // zlib may report a gzip stream cut short only here, after handing out its last bytes.
        int code = 0;
        gzerror(handle_, &code);
        if (code != Z_OK && code != Z_STREAM_END) corrupt();
        break;
      }
      total += size_t(got);
    }
    consumed_ += total;
    return total;
  }

  // Exactly `expected` bytes, then the end of the content. The buffer grows with what arrives.
  std::vector<uint8_t> read_payload(uint64_t expected, const std::string& what) {
    std::vector<uint8_t> bytes;
    if (!gzip_) bytes.reserve(size_t(expected));  // the size on disk was already checked
    while (bytes.size() < expected) {
      size_t old = bytes.size();
      size_t want = size_t(std::min<uint64_t>(kChunk, expected - old));
      bytes.resize(old + want);
      size_t got = read(bytes.data() + old, want);
      bytes.resize(old + got);
      if (got < want)
        bad(file_, "truncated: the header declares " + what + " (" + bytes_str(expected) +
                       " after the header), the file ends after " + bytes_str(bytes.size()));
    }
    uint8_t extra;
    if (read(&extra, 1) != 0)
      bad(file_, "longer than its header declares: " + what + " (" + bytes_str(expected) +
                     " after the header) followed by more data");
    return bytes;
  }

 private:
  std::filesystem::path file_;
  gzFile handle_ = nullptr;
  bool gzip_ = false;
  uint64_t disk_size_ = 0;
  uint64_t consumed_ = 0;
};

uint32_t big_endian(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// An IDX header: magic (0, 0, 0x08 = unsigned bytes, rank), then `rank` big-endian dimensions.
// Returns the dimensions and the payload size they declare, validated against the file.
struct IdxHeader {
  std::vector<uint32_t> dims;
  uint64_t payload = 0;
};

IdxHeader read_idx_header(Source& source, uint32_t magic, const char* kind) {
  const std::filesystem::path& file = source.file();
  uint8_t head[4];
  size_t got = source.read(head, 4);
  if (got < 4)
    bad(file, "too short for an IDX header: " + bytes_str(got) + ", expected at least 4");
  uint32_t found = big_endian(head);
  if (found != magic) {
    char message[128];
    std::snprintf(message, sizeof message, "bad IDX magic number 0x%08x, expected 0x%08x (%s)",
                  found, magic, kind);
    bad(file, message);
  }
  const uint32_t rank = magic & 0xff;
  std::vector<uint8_t> dims_bytes(4 * rank);
  got = source.read(dims_bytes.data(), dims_bytes.size());
  if (got < dims_bytes.size())
    bad(file,
        "truncated IDX header: " + bytes_str(4 + got) + ", expected " + bytes_str(4 + 4 * rank));
  IdxHeader header;
  header.payload = 1;
  std::string declared;
  for (uint32_t i = 0; i < rank; ++i) {
    uint32_t dim = big_endian(dims_bytes.data() + 4 * i);
    declared += (i ? " x " : "") + std::to_string(dim);
    if (dim == 0) bad(file, "dimension " + std::to_string(i) + " is 0");
    // Each factor is below 2^32 and the running product stays below 2^31, so this cannot overflow.
    header.payload *= dim;
    if (header.payload > kMaxPayload)
      bad(file, "implausible dimensions " + declared + (i + 1 < rank ? " ..." : "") +
                    ": more than the " + bytes_str(kMaxPayload) + " this reader accepts");
    header.dims.push_back(dim);
  }
  // A raw file's size is known: check it before anything is allocated.
  if (!source.gzip()) {
    uint64_t expected = 4 + 4 * uint64_t(rank) + header.payload;
    if (source.disk_size() < expected)
      bad(file, "truncated: the header declares " + declared + " (" + bytes_str(expected) +
                    " in all), the file holds " + bytes_str(source.disk_size()));
    if (source.disk_size() > expected)
      bad(file, "longer than its header declares: " + declared + " (" + bytes_str(expected) +
                    " in all), the file holds " + bytes_str(source.disk_size()));
  }
  return header;
}

// Pixel bytes to float32 in [0, 1] as torchvision's ToTensor does (a division by 255, not a
// multiplication by its rounded reciprocal), through a table.
struct PixelScale {
  float table[256];
  PixelScale() {
    for (int p = 0; p < 256; ++p) table[p] = float(p) / 255.0f;
  }
};
const PixelScale kPixelScale;

void scale_pixels(const uint8_t* begin, const uint8_t* end, float* out) {
  for (; begin != end; ++begin, ++out) *out = kPixelScale.table[*begin];
}

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 int num_classes) {
  if (num_classes < 1 || num_classes > 256)
    throw Error("data: load_idx: num_classes " + std::to_string(num_classes) +
                " outside [1, 256] (IDX labels are bytes)");
  // Both headers first: a count mismatch is reported before either payload is read.
  Source image_source(images), label_source(labels);
  IdxHeader image_header = read_idx_header(image_source, 0x00000803, "images: N x H x W bytes");
  IdxHeader label_header = read_idx_header(label_source, 0x00000801, "labels: N bytes");
  const uint32_t count = image_header.dims[0];
  if (label_header.dims[0] != count)
    bad(labels, "holds " + std::to_string(label_header.dims[0]) + " labels for " +
                    std::to_string(count) + " images in " + images.string());

  const std::string image_what = std::to_string(count) + " images of " +
                                 std::to_string(image_header.dims[1]) + " x " +
                                 std::to_string(image_header.dims[2]) + " bytes";
  std::vector<uint8_t> label_bytes =
      label_source.read_payload(label_header.payload, std::to_string(count) + " labels");
  for (size_t i = 0; i < label_bytes.size(); ++i)
    if (label_bytes[i] >= num_classes)
      bad(labels, "label " + std::to_string(label_bytes[i]) + " at index " + std::to_string(i) +
                      " is outside [0, " + std::to_string(num_classes) + ")");
  std::vector<uint8_t> pixels = image_source.read_payload(image_header.payload, image_what);

  Dataset dataset;
  dataset.count = count;
  dataset.channels = 1;
  dataset.height = image_header.dims[1];
  dataset.width = image_header.dims[2];
  dataset.num_classes = num_classes;
  dataset.images.resize(pixels.size());
  scale_pixels(pixels.data(), pixels.data() + pixels.size(), dataset.images.data());
  dataset.labels.assign(label_bytes.begin(), label_bytes.end());
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
  constexpr uint64_t kPixels = 3 * 32 * 32, kRecord = 1 + kPixels;
  if (batch_files.empty()) throw Error("data: load_cifar10: no batch files given");
  Dataset dataset;
  dataset.channels = 3;
  dataset.height = dataset.width = 32;
  dataset.num_classes = 10;
  dataset.class_names = cifar10_classes();
  // One reservation for all files (their sizes on disk bound raw files' records).
  uint64_t disk_records = 0;
  for (const auto& file : batch_files) {
    std::error_code error;
    uint64_t size = std::filesystem::file_size(file, error);
    if (!error) disk_records += size / kRecord;
  }
  disk_records = std::min(disk_records, kMaxPayload / kPixels);
  dataset.images.reserve(size_t(disk_records * kPixels));
  dataset.labels.reserve(size_t(disk_records));
  for (const auto& file : batch_files) {
    Source source(file);
    if (!source.gzip() && (source.disk_size() == 0 || source.disk_size() % kRecord != 0))
      bad(file, bytes_str(source.disk_size()) + " is not a whole, nonzero number of " +
                    bytes_str(kRecord) + " CIFAR-10 records (1 label byte + 3072 pixel bytes)");
    // Records are read one at a time, so nothing is allocated beyond what the file holds.
    std::vector<uint8_t> record(kRecord);
    for (int64_t r = 0;; ++r) {
      size_t got = source.read(record.data(), kRecord);
      if (got == 0 && r > 0) break;
      if (got < kRecord)
        bad(file, bytes_str(source.consumed()) + " is not a whole, nonzero number of " +
                      bytes_str(kRecord) + " CIFAR-10 records (1 label byte + 3072 pixel bytes)");
      if (record[0] >= 10)
        bad(file, "label " + std::to_string(record[0]) + " of record " + std::to_string(r) +
                      " is outside [0, 10)");
      if (uint64_t(dataset.count + 1) * kPixels > kMaxPayload)
        bad(file, "more than the " + bytes_str(kMaxPayload) + " of pixels this reader accepts");
      dataset.labels.push_back(record[0]);
      size_t old = dataset.images.size();
      dataset.images.resize(old + kPixels);
      scale_pixels(record.data() + 1, record.data() + kRecord, dataset.images.data() + old);
      ++dataset.count;
    }
  }
  return dataset;
}

Dataset load_cifar10_dir(const std::filesystem::path& dir, bool train) {
  // The archive unpacks into cifar-10-batches-bin/; accept that folder or its parent.
  std::filesystem::path root = dir;
  if (!std::filesystem::exists(root / "test_batch.bin") &&
      std::filesystem::exists(root / "cifar-10-batches-bin"))
    root /= "cifar-10-batches-bin";
  std::vector<std::filesystem::path> files;
  if (train) {
    for (int i = 1; i <= 5; ++i)
      files.push_back(root / ("data_batch_" + std::to_string(i) + ".bin"));
  } else {
    files.push_back(root / "test_batch.bin");
  }
  for (const auto& file : files)
    if (!std::filesystem::exists(file))
      throw Error("data: no " + file.filename().string() + " in " + root.string() +
                  " (CIFAR-10's binary version: cifar-10-binary.tar.gz)");
  return load_cifar10(files);
}

}  // namespace vkt::data
