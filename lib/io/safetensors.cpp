#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/check.hpp"
#include "vktrain/checkpoint.hpp"
#include "vktrain/io.hpp"

namespace vkt {

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // safetensors' own limit on the JSON header

const char* stored_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::i32: return "I32";
    case DType::u32: return "I64";  // counters are int64 in PyTorch (num_batches_tracked)
  }
  return "?";
}

size_t stored_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

[[noreturn]] void bad_file(const std::filesystem::path& path, const std::string& what) {
  throw Error("load_safetensors: " + path.string() + ": " + what);
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<std::vector<uint8_t>> payloads;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    VKT_REQUIRE(tensor.defined(), "save_safetensors", "tensor '" + name + "' is undefined");
    VKT_REQUIRE(names.insert(name).second, "save_safetensors", "duplicate tensor name '" + name + "'");
    std::vector<uint8_t> bytes = tensor.to_host_raw();
    if (tensor.dtype() == DType::u32) {  // widen to int64
      std::vector<uint8_t> wide(bytes.size() * 2, 0);
      for (size_t i = 0; i < bytes.size() / 4; ++i) std::memcpy(&wide[i * 8], &bytes[i * 4], 4);
      bytes = std::move(wide);
    }
    header[name] = {{"dtype", stored_dtype(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + bytes.size()}}};
    offset += bytes.size();
    payloads.push_back(std::move(bytes));
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data to 8 bytes, as safetensors does
  std::vector<uint8_t> file(8 + json.size() + offset);
  uint64_t header_size = json.size();
  std::memcpy(file.data(), &header_size, 8);  // little-endian hosts only (x86-64, ARM64)
  std::memcpy(file.data() + 8, json.data(), json.size());
  size_t at = 8 + json.size();
  for (const auto& bytes : payloads) {
    std::memcpy(file.data() + at, bytes.data(), bytes.size());
    at += bytes.size();
  }
  write_file_atomic(path, file);
}

std::map<std::string, StoredTensor> read_safetensors(const std::filesystem::path& path,
                                                     Metadata* metadata) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_file(path, "cannot open the file");
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  if (file.size() < 8) bad_file(path, "shorter than the 8-byte header length");
  uint64_t header_size;
  std::memcpy(&header_size, file.data(), 8);
  if (header_size > kMaxHeader || header_size > file.size() - 8)
    bad_file(path, "header length " + std::to_string(header_size) + " exceeds the file (" +
                       std::to_string(file.size()) + " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + int64_t(header_size));
  } catch (const nlohmann::json::exception& error) {
    bad_file(path, std::string("corrupt JSON header: ") + error.what());
  }
  if (!header.is_object()) bad_file(path, "the header is not a JSON object");
  const uint64_t data_size = file.size() - 8 - header_size;
  const uint8_t* data = file.data() + 8 + header_size;
  std::map<std::string, StoredTensor> result;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (metadata && it.value().is_object())
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          if (m.value().is_string()) (*metadata)[m.key()] = m.value().get<std::string>();
      continue;
    }
    const std::string& name = it.key();
    try {
      StoredTensor stored;
      stored.dtype = it.value().at("dtype").get<std::string>();
      // Integers only: converting a float such as 1e300 to an integer is undefined behaviour.
      for (const char* key : {"shape", "data_offsets"}) {
        const nlohmann::json& list = it.value().at(key);
        auto integer = [](const nlohmann::json& v) { return v.is_number_integer(); };
        if (list.is_array() && !std::all_of(list.begin(), list.end(), integer))
          bad_file(path, "tensor '" + name + "' has a malformed entry: " + key +
                             " must hold integers, got " + list.dump().substr(0, 80));
      }
      stored.shape = it.value().at("shape").get<Shape>();
      auto offsets = it.value().at("data_offsets").get<std::vector<uint64_t>>();
      size_t element = stored_size(stored.dtype);
      if (element == 0) bad_file(path, "tensor '" + name + "' has unknown dtype " + stored.dtype);
      uint64_t count = 1;
      for (int64_t d : stored.shape) {
        if (d < 0 || (d > 0 && count > (uint64_t(1) << 62) / uint64_t(d)))
          bad_file(path, "tensor '" + name + "' has an invalid shape");
        count *= uint64_t(d);
      }
      // count <= data_size / element first, so count * element cannot wrap around.
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size ||
          count > data_size / element || offsets[1] - offsets[0] != count * element)
        bad_file(path, "tensor '" + name + "' has data offsets outside the file or not matching " +
                           shape_str(stored.shape) + " " + stored.dtype + " (the file may be truncated)");
      stored.bytes.assign(data + offsets[0], data + offsets[1]);
      result.emplace(name, std::move(stored));
    } catch (const nlohmann::json::exception& error) {
      bad_file(path, "tensor '" + name + "' has a malformed entry: " + error.what());
    }
  }
  return result;
}

Metadata load_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                          bool strict) {
  Metadata metadata;
  std::map<std::string, StoredTensor> stored = read_safetensors(path, &metadata);
  // Validate everything before writing anything.
  std::set<std::string> wanted;
  for (const auto& [name, tensor] : tensors) {
    wanted.insert(name);
    auto it = stored.find(name);
    if (it == stored.end()) bad_file(path, "tensor '" + name + "' is missing");
    const StoredTensor& entry = it->second;
    if (entry.dtype != stored_dtype(tensor.dtype()))
      bad_file(path, "tensor '" + name + "' is " + entry.dtype + ", expected " +
                         stored_dtype(tensor.dtype()));
    if (entry.shape != tensor.shape())
      bad_file(path, "tensor '" + name + "' has shape " + shape_str(entry.shape) + ", expected " +
                         shape_str(tensor.shape()));
  }
  if (strict)
    for (const auto& [name, entry] : stored)
      if (!wanted.count(name)) bad_file(path, "unexpected tensor '" + name + "'");
  for (const auto& [name, tensor] : tensors) {
    const StoredTensor& entry = stored.at(name);
    if (tensor.dtype() == DType::u32) {
      std::vector<uint8_t> narrow(entry.bytes.size() / 2);
      for (size_t i = 0; i < narrow.size() / 4; ++i) {
        int64_t value;
        std::memcpy(&value, &entry.bytes[i * 8], 8);
        uint32_t clamped = value < 0 ? 0u : value > int64_t(UINT32_MAX) ? UINT32_MAX : uint32_t(value);
        std::memcpy(&narrow[i * 4], &clamped, 4);
      }
      tensor.upload_raw(narrow);
    } else {
      tensor.upload_raw(entry.bytes);
    }
  }
  return metadata;
}

}  // namespace vkt
