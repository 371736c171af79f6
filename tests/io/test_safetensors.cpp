// safetensors checkpoints: round trip, PyTorch conventions, and rejection of bad files with nothing
// half-loaded.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vktrain/checkpoint.hpp>

#include "test_device.hpp"

using namespace vkt;
namespace fs = std::filesystem;

namespace {
fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("vktrain-st-" + std::to_string(::getpid()) + "-" + name);
}
std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("safetensors: round trip with PyTorch names and an int64 counter", "[io]") {
  const Device& device = testing::test_device();
  std::vector<float> w = {1, 2, 3, 4, 5, 6}, b = {-1, 0.5f};
  uint32_t batches[] = {7};
  Tensor weight = Tensor::from_host(device, w, {2, 3});
  Tensor bias = Tensor::from_host(device, b, {2});
  Tensor counter = Tensor::from_host(device, std::span<const uint32_t>(batches), {});
  fs::path file = temp_file("roundtrip.safetensors");
  save_safetensors(file, {{"0.weight", weight}, {"0.bias", bias}, {"1.num_batches_tracked", counter}},
                   {{"epoch", "3"}});

  // The layout is safetensors': header length, JSON, 8-byte aligned data; the counter is I64.
  std::string bytes = read_bytes(file);
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  CHECK(header_size % 8 == 0);
  auto header = nlohmann::json::parse(bytes.substr(8, header_size));
  CHECK(header["1.num_batches_tracked"]["dtype"] == "I64");
  CHECK(header["0.weight"]["shape"] == nlohmann::json({2, 3}));
  CHECK(header["__metadata__"]["epoch"] == "3");

  Tensor weight2 = Tensor::zeros(device, {2, 3}), bias2 = Tensor::zeros(device, {2});
  Tensor counter2 = Tensor::zeros(device, {}, DType::u32);
  Metadata metadata = load_safetensors(
      file, {{"0.weight", weight2}, {"0.bias", bias2}, {"1.num_batches_tracked", counter2}});
  CHECK(metadata.at("epoch") == "3");
  CHECK(weight2.to_host() == w);
  CHECK(bias2.to_host() == b);
  CHECK(counter2.to_host_u32()[0] == 7);
  fs::remove(file);
}

TEST_CASE("safetensors: bad files are rejected by name and nothing is half-loaded", "[io]") {
  const Device& device = testing::test_device();
  std::vector<float> w(12, 1.5f);
  fs::path file = temp_file("bad.safetensors");
  save_safetensors(file, {{"a", Tensor::from_host(device, w, {3, 4})},
                          {"b", Tensor::from_host(device, w, {12})}});
  std::string good = read_bytes(file);

  std::vector<float> sentinel(12, -7.0f);
  Tensor a = Tensor::from_host(device, sentinel, {3, 4});
  Tensor b = Tensor::from_host(device, sentinel, {12});
  auto untouched = [&] { return a.to_host() == sentinel && b.to_host() == sentinel; };

  CHECK_THROWS_WITH(load_safetensors(file, {{"a", a}, {"b", b}, {"c", a}}),
                    Catch::Contains("'c' is missing"));
  CHECK(untouched());
  Tensor wrong_shape = Tensor::from_host(device, sentinel, {4, 3});
  CHECK_THROWS_WITH(load_safetensors(file, {{"b", b}, {"a", wrong_shape}}),
                    Catch::Contains("'a' has shape (3, 4), expected (4, 3)"));
  CHECK(untouched());
  Tensor wrong_dtype = Tensor::zeros(device, {3, 4}, DType::i32);
  CHECK_THROWS_WITH(load_safetensors(file, {{"a", wrong_dtype}, {"b", b}}),
                    Catch::Contains("'a' is F32, expected I32"));
  CHECK_THROWS_WITH(load_safetensors(file, {{"a", a}}), Catch::Contains("unexpected tensor 'b'"));

  std::ofstream(file, std::ios::binary | std::ios::trunc) << good.substr(0, good.size() - 5);
  CHECK_THROWS_WITH(load_safetensors(file, {{"a", a}, {"b", b}}), Catch::Contains("truncated"));
  CHECK(untouched());
  std::string corrupt = good;
  corrupt[8] = '#';  // the opening brace of the JSON header
  std::ofstream(file, std::ios::binary | std::ios::trunc) << corrupt;
  CHECK_THROWS_WITH(load_safetensors(file, {{"a", a}, {"b", b}}), Catch::Contains("corrupt JSON"));
  std::string huge = good;
  uint64_t absurd = ~0ull;
  std::memcpy(huge.data(), &absurd, 8);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << huge;
  CHECK_THROWS_WITH(load_safetensors(file, {{"a", a}}), Catch::Contains("exceeds the file"));
  CHECK(untouched());
  CHECK_THROWS_WITH(load_safetensors(temp_file("absent"), {{"a", a}}), Catch::Contains("cannot open"));
  fs::remove(file);
}
