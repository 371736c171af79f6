// The fuzz harnesses, shared by the libFuzzer targets (fuzz/fuzz_*.cpp) and by the regression test
// that replays every committed crash input (tests/io/test_fuzz_regressions.cpp), so a regression
// input is read exactly as the fuzzer read it.
//
// Each harness turns one input into the file(s) a reader takes, calls the reader and checks what it
// returns. A reader may only ever succeed with a consistent result or throw vkt::Error: any other
// exception escapes (libFuzzer reports an uncaught exception as a crash), and an inconsistent
// result throws HarnessViolation. Sanitizers catch memory errors and undefined behaviour.
//
// Input layouts (byte 0 is a flags byte for the readers that take several files):
//   idx:         flags (bit 0: gzip the image file, bit 1: gzip the label file), num_classes byte,
//                image-file length (2 bytes, little-endian), image file, label file (the rest)
//   cifar:       flags (bit 0/1: gzip file 1/2, bit 2: two files), file-1 length (2 bytes, LE,
//                used with two files), file 1, file 2 (the rest)
//   safetensors: the file itself
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "vktrain/checkpoint.hpp"
#include "vktrain/data.hpp"
#include "vktrain/error.hpp"

namespace vkt::fuzz {

// A reader returned something inconsistent with what it read.
struct HarnessViolation : std::logic_error {
  using std::logic_error::logic_error;
};

inline void expect(bool condition, const std::string& what) {
  if (!condition) throw HarnessViolation("harness: " + what);
}

// A private directory for the files an input becomes, removed when the process ends normally.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vktrain-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("harness: mkdtemp failed");
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::filesystem::path file(const char* name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  std::vector<uint8_t> out(compressBound(uLong(size)) + 64);
  z_stream stream{};
  // windowBits 15 + 16: a gzip stream (what the readers recognise by its magic bytes).
  if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("harness: deflateInit2 failed");
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = uInt(size);
  stream.next_out = out.data();
  stream.avail_out = uInt(out.size());
  int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("harness: deflate failed");
  out.resize(stream.total_out);
  return out;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size,
                       bool compress) {
  std::vector<uint8_t> bytes =
      compress ? gzip(data, size) : std::vector<uint8_t>(data, data + size);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("harness: cannot write " + path.string());
}

inline size_t read_u16(const uint8_t* p) {
  return size_t(p[0]) | size_t(p[1]) << 8;
}

inline void check_dataset(const data::Dataset& d, int num_classes) {
  expect(d.count > 0 && d.channels > 0 && d.height > 0 && d.width > 0, "empty dataset returned");
  expect(d.images.size() == size_t(d.count * d.image_size()), "image count disagrees with shape");
  expect(d.labels.size() == size_t(d.count), "label count disagrees with count");
  expect(d.num_classes == num_classes, "num_classes changed");
  for (int32_t label : d.labels) expect(label >= 0 && label < num_classes, "label out of range");
  for (float pixel : d.images) expect(pixel >= 0.0f && pixel <= 1.0f, "pixel outside [0, 1]");
}

inline void run_idx(const Scratch& scratch, const uint8_t* data, size_t size) {
  if (size < 4) return;
  const int flags = data[0], num_classes = data[1];
  const size_t image_size = std::min(read_u16(data + 2), size - 4);
  const uint8_t* images = data + 4;
  const uint8_t* labels = images + image_size;
  const std::filesystem::path image_file = scratch.file("images"),
                              label_file = scratch.file("labels");
  write_file(image_file, images, image_size, flags & 1);
  write_file(label_file, labels, size - 4 - image_size, flags & 2);
  try {
    data::Dataset d = data::load_idx(image_file, label_file, num_classes);
    check_dataset(d, num_classes);
    expect(d.channels == 1, "IDX images have one channel");
  } catch (const Error&) {
    // A clear error is the expected outcome for almost every input.
  }
}

inline void run_cifar(const Scratch& scratch, const uint8_t* data, size_t size) {
  if (size < 3) return;
  const int flags = data[0];
  const bool two = flags & 4;
  const size_t first = two ? std::min(read_u16(data + 1), size - 3) : size - 3;
  const std::filesystem::path file1 = scratch.file("batch1.bin"),
                              file2 = scratch.file("batch2.bin");
  write_file(file1, data + 3, first, flags & 1);
  std::vector<std::filesystem::path> files{file1};
  if (two) {
    write_file(file2, data + 3 + first, size - 3 - first, flags & 2);
    files.push_back(file2);
  }
  try {
    data::Dataset d = data::load_cifar10(files);
    check_dataset(d, 10);
    expect(d.channels == 3 && d.height == 32 && d.width == 32, "CIFAR-10 images are 3x32x32");
  } catch (const Error&) {
  }
}

inline size_t element_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

inline void run_safetensors(const Scratch& scratch, const uint8_t* data, size_t size) {
  const std::filesystem::path file = scratch.file("input.safetensors");
  write_file(file, data, size, false);
  try {
    Metadata metadata;
    auto tensors = read_safetensors(file, &metadata);
    for (const auto& [name, stored] : tensors) {
      size_t element = element_size(stored.dtype);
      expect(element != 0, "tensor '" + name + "' returned with an unknown dtype");
      // The byte count must be exactly what the shape declares (checked without overflow).
      uint64_t count = 1;
      for (int64_t d : stored.shape) expect(d >= 0, "negative dimension returned");
      if (std::find(stored.shape.begin(), stored.shape.end(), 0) != stored.shape.end()) count = 0;
      for (int64_t d : stored.shape) {
        if (count == 0) break;
        expect(count <= stored.bytes.size() / uint64_t(d),
               "tensor '" + name + "': shape larger than the bytes returned");
        count *= uint64_t(d);
      }
      expect(count <= stored.bytes.size() / element && count * element == stored.bytes.size(),
             "tensor '" + name + "': " + std::to_string(stored.bytes.size()) +
                 " bytes returned for its shape and dtype");
    }
  } catch (const Error&) {
  }
}

}  // namespace vkt::fuzz
