// Device selection (VKTRAIN_DEVICE / options), the device report, and the pipeline cache file.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/state.hpp"
#include "test_device.hpp"

using namespace vkt;

TEST_CASE("device: listing and the report", "[core]") {
  std::vector<DeviceInfo> devices = Device::list();
  REQUIRE_FALSE(devices.empty());
  const Device& device = testing::test_device();
  std::string report = device.describe();
  CHECK_THAT(report, Catch::Contains(device.info().name));
  CHECK_THAT(report, Catch::Contains("subgroup size:            " +
                                     std::to_string(device.info().subgroup_size)));
  CHECK_THAT(report, Catch::Contains("cooperative matrix:"));
  CHECK(device.info().subgroup_size >= 1);
  CHECK(device.info().max_storage_buffer_range > 0);
  CHECK(device.validation_enabled());
}

TEST_CASE("device: selection by index, by name and through VKTRAIN_DEVICE", "[core]") {
  std::vector<DeviceInfo> devices = Device::list();
  const DeviceInfo& last = devices.back();
  Device by_index = testing::open_test_device({.select = std::to_string(last.index)});
  CHECK(by_index.info().name == last.name);
  std::string fragment = last.name.substr(0, 4);
  for (char& c : fragment) c = char(std::toupper(static_cast<unsigned char>(c)));  // case-insensitive
  Device by_name = testing::open_test_device({.select = fragment});
  CHECK(by_name.info().name.substr(0, 4) == last.name.substr(0, 4));

  ::setenv("VKTRAIN_DEVICE", std::to_string(last.index).c_str(), 1);
  Device by_env = testing::open_test_device();
  ::unsetenv("VKTRAIN_DEVICE");
  CHECK(by_env.info().index == last.index);

  ::setenv("VKTRAIN_DEVICE", "no-such-gpu", 1);
  CHECK_THROWS_WITH(testing::open_test_device(),
                    Catch::Contains("no-such-gpu") && Catch::Contains(devices[0].name));
  ::unsetenv("VKTRAIN_DEVICE");
}

TEST_CASE("device: the pipeline cache persists, and bad cache files are ignored", "[core]") {
  namespace fs = std::filesystem;
  fs::path directory = fs::temp_directory_path() / ("vktrain-cache-test-" + std::to_string(::getpid()));
  fs::remove_all(directory);
  auto run_once = [&] {
    Device device = testing::open_test_device({.cache_dir = directory.string()});
    bool loaded = device.state().pipelines->cache_loaded();
    std::vector<float> values(100, 1.0f);
    CHECK(sum(Tensor::from_host(device, values, {100})).to_host()[0] == 100.0f);
    CHECK(device.validation_messages() == 0);
    return loaded;
  };
  CHECK_FALSE(run_once());  // nothing to load yet; written when the device closes
  REQUIRE(fs::exists(directory));
  fs::path file = fs::directory_iterator(directory)->path();
  CHECK(run_once());  // our own cache is accepted

  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Corrupt one payload byte: the checksum no longer matches.
  std::string corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << corrupt;
  CHECK_FALSE(run_once());
  // A truncated file, and one of garbage.
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 3);
  CHECK_FALSE(run_once());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << std::string(4096, '\x7f');
  CHECK_FALSE(run_once());
  fs::remove_all(directory);
}
