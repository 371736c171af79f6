// Memory: suballocation reuses freed ranges, limits give clear errors, out-of-memory is recoverable.
#include <catch2/catch.hpp>

#include "core/state.hpp"
#include "test_device.hpp"

using namespace vkt;

TEST_CASE("memory: many allocate/free cycles do not grow the reservation", "[core]") {
  const Device& device = testing::test_device();
  device.synchronize();
  uint64_t in_use = device.memory_in_use();
  { Tensor warm = Tensor::empty(device, {1000}); }
  uint64_t reserved = device.memory_reserved();
  for (int cycle = 0; cycle < 2000; ++cycle) {
    Tensor a = Tensor::empty(device, {1 + cycle % 997});
    Tensor b = Tensor::empty(device, {4096 + cycle * 13 % 5000});
    Tensor c = Tensor::empty(device, {cycle % 3 + 1, 333});
  }
  CHECK(device.memory_in_use() == in_use);
  CHECK(device.memory_reserved() == reserved);
}

TEST_CASE("memory: ranges freed while the GPU still uses them are kept until it is done", "[core]") {
  const Device& device = testing::test_device();
  std::vector<float> values(10000, 1.5f);
  Tensor result = Tensor::empty(device, {10000});
  {
    Tensor temporary = Tensor::from_host(device, values, {10000});
    unary_into(UnaryOp::scale, temporary, 2.0f, result);
  }  // the handle is gone, the recorded dispatch still reads it
  Tensor reuse = Tensor::full(device, {10000}, -9.0f);  // may not take the range early
  CHECK(result.to_host()[9999] == 3.0f);
  CHECK(reuse.to_host()[0] == -9.0f);
}

TEST_CASE("memory: a tensor past maxStorageBufferRange is a clear error", "[core]") {
  const Device& device = testing::test_device();
  int64_t too_many = int64_t(device.info().max_storage_buffer_range / 4) + 1;
  CHECK_THROWS_WITH(Tensor::empty(device, {too_many}),
                    Catch::Contains("maxStorageBufferRange") && Catch::Contains("Tensor::empty"));
  CHECK_THROWS_WITH(Tensor::empty(device, {4, -2}), Catch::Contains("negative dimension"));
}

TEST_CASE("memory: out of device memory throws and the device stays usable", "[core]") {
  Device device = testing::open_test_device({.memory_limit = 48ull << 20});
  std::vector<Tensor> held;
  bool out_of_memory = false;
  try {
    for (int i = 0; i < 100; ++i) held.push_back(Tensor::empty(device, {4 << 20}));  // 16 MiB each
  } catch (const Error& error) {
    out_of_memory = error.out_of_memory();
    CHECK_THAT(error.what(), Catch::Contains("out of device memory"));
  }
  CHECK(out_of_memory);
  CHECK(held.size() < 100);
  held.clear();
  std::vector<float> values(1 << 20, 2.0f);
  Tensor x = Tensor::from_host(device, values, {1 << 20});
  CHECK(sum(x).to_host()[0] == float(2 << 20));
  CHECK(device.validation_messages() == 0);
}

TEST_CASE("memory: blocks are suballocated and aligned", "[core]") {
  const Device& device = testing::test_device();
  Tensor a = Tensor::empty(device, {3});
  Tensor b = Tensor::empty(device, {5});
  CHECK(a.allocation()->block == b.allocation()->block);  // small tensors share a block
  uint64_t alignment = device.state().properties.limits.minStorageBufferOffsetAlignment;
  CHECK(a.allocation()->offset % alignment == 0);
  CHECK(b.allocation()->offset % alignment == 0);
  CHECK(a.allocation()->offset != b.allocation()->offset);
}
