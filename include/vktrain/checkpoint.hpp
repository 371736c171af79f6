// Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data. PyTorch's state-dict names are used ("0.weight",
// "1.running_mean", "1.num_batches_tracked"), so files load in PyTorch (safetensors.torch) and
// PyTorch's exports load here. num_batches_tracked is int64 in PyTorch: a uint32 tensor is written
// as I64 and an I64 file entry loads into a uint32 tensor.
//
// Saving is atomic (vkt::write_file_atomic). Loading validates the whole file — header, offsets,
// every named tensor's presence, dtype and shape — before any tensor is overwritten, so a truncated,
// corrupt or mismatched file raises vkt::Error naming the file and tensor, and nothing is half-loaded.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vktrain/tensor.hpp"

namespace vkt {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const Metadata& metadata = {});

// Loads every tensor in `tensors` (by name) from the file into the given device tensors. Entries of
// the file not named are ignored unless `strict`. Returns the file's metadata.
Metadata load_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                          bool strict = true);

// One entry of a safetensors file as read from disk.
struct StoredTensor {
  std::string dtype;  // "F32", "F16", "I32", "U32", "I64", ...
  Shape shape;
  std::vector<uint8_t> bytes;
};
// Reads and validates a whole file into host memory.
std::map<std::string, StoredTensor> read_safetensors(const std::filesystem::path& path,
                                                     Metadata* metadata = nullptr);

}  // namespace vkt
