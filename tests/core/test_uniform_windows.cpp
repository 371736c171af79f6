// The scheduler's pieces for the packed matmul (lib/core/scheduler_impl.hpp): copies of many
// byte ranges in one transfer, and the checks on uniform-buffer windows. The windows themselves
// are exercised by every packed matmul case (tests/ops/test_matmul.cpp).
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "core/scheduler_impl.hpp"
#include "core/state.hpp"
#include "test_device.hpp"
#include "vktrain/vktrain.hpp"

using namespace vkt;

namespace {
detail::VulkanScheduler& scheduler(const Device& device) { return *device.shared_state()->scheduler; }
}  // namespace

TEST_CASE("copy_regions: byte ranges land where asked, past one command's batch", "[core]") {
  const Device& device = testing::test_device();
  std::vector<float> values(100);
  std::iota(values.begin(), values.end(), 0.0f);
  Tensor src = Tensor::from_host(device, values, {100});
  Tensor dst = Tensor::full(device, {80}, -1.0f);
  // 45 single floats (src 2i + 1 -> dst i: more than one command's 32) and one run of 5.
  std::vector<VkBufferCopy> regions;
  for (uint64_t i = 0; i < 45; ++i) regions.push_back({(2 * i + 1) * 4, i * 4, 4});
  regions.push_back({90 * 4, 72 * 4, 5 * 4});
  scheduler(device).copy_regions(src, dst, regions);
  std::vector<float> got = dst.to_host();
  for (size_t i = 0; i < 45; ++i) CHECK(got[i] == float(2 * i + 1));
  for (size_t i = 45; i < 72; ++i) CHECK(got[i] == -1.0f);
  for (size_t i = 0; i < 5; ++i) CHECK(got[72 + i] == float(90 + i));
  CHECK(got[77] == -1.0f);

  VkBufferCopy outside{96 * 4, 0, 8 * 4};  // 4 floats past src's end
  CHECK_THROWS_WITH(scheduler(device).copy_regions(src, dst, {&outside, 1}),
                    Catch::Contains("copy") && Catch::Contains("outside the tensors"));
}

TEST_CASE("dispatch_windows: misaligned, outside or too many windows are errors", "[core]") {
  const Device& device = testing::test_device();
  Tensor data = Tensor::zeros(device, {1024}), result = Tensor::zeros(device, {16});
  const Kernel kernel{"matmul_pack", {64, 16}};
  const Arg args[] = {in(data), out(result)};
  uint32_t push[7] = {};
  auto dispatch = [&](detail::UniformWindows windows) {
    scheduler(device).dispatch_windows(kernel, args, windows, push, sizeof(push), {1, 1, 1});
  };
  CHECK_THROWS_WITH(dispatch({{data, 4}}), Catch::Contains("matmul_pack") &&
                                               Catch::Contains("uniform alignment"));
  CHECK_THROWS_WITH(dispatch({{data, 4096}}), Catch::Contains("outside"));
  CHECK_THROWS_WITH(dispatch({}), Catch::Contains("uniform windows"));
  detail::UniformWindows many(64, {data, 0});
  CHECK_THROWS_WITH(dispatch(many), Catch::Contains("64 uniform windows"));
}
