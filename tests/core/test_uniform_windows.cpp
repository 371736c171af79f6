// The scheduler's pieces for the packed matmul (lib/core/scheduler_impl.hpp): copies of many
// byte ranges in one transfer, and the checks on uniform-buffer windows. The windows themselves
// are exercised by every packed matmul case (tests/ops/test_matmul.cpp).
#include <catch2/catch.hpp>

#include <numeric>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "core/scheduler_impl.hpp"
#include "core/state.hpp"
#include "ops/launch.hpp"
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

TEST_CASE("bench_copy_windows: every float copied once, windows past the end repeated", "[core]") {
  // vktrain-bench's windowed copy ceiling (bench/measure.cpp): 14 windows of 4096 vec4s a dispatch,
  // here 3 whole ones and a partial fourth; the ten past the end repeat the last start.
  const Device& device = testing::test_device();
  if (!detail::uniform_windows_available(device, 14)) {
    WARN("the device binds fewer than 14 uniform-buffer windows: nothing to check");
    return;
  }
  const uint32_t vec4s = 3 * 4096 + 101;
  std::vector<float> values(size_t(vec4s) * 4);
  std::iota(values.begin(), values.end(), 0.5f);
  Tensor src = Tensor::from_host(device, values, {int64_t(values.size())});
  Tensor dst = Tensor::full(device, {int64_t(values.size())}, -1.0f);
  detail::UniformWindows windows;
  for (uint64_t w = 0; w < 14; ++w) windows.push_back({src, std::min<uint64_t>(w, 3) * 4096 * 16});
  struct {
    uint32_t first, count;
  } push{0, vec4s};
  const Arg args[] = {out(dst)};
  scheduler(device).dispatch_windows(Kernel{"bench_copy_windows", {8}}, args, windows, &push,
                                     sizeof(push), {1, 14, 1});
  CHECK(dst.to_host() == values);
}

TEST_CASE("CPU devices run the windowed variants of the normalization and elementwise kernels",
          "[core]") {
  // Which kernel runs is invisible in the results (the conformance cases check those); the
  // profiler's kernel names show it. GPUs keep the storage-buffer kernels.
  const Device& device = testing::test_device();
  if (!device.info().timestamp_queries) {
    WARN("the device writes no timestamps: no profiler");
    return;
  }
  const bool windowed = detail::cpu_device(device) && detail::uniform_windows_available(device, 14);
  const Shape shape{3, 4, 8, 8};
  Tensor x = Tensor::full(device, shape, 1.0f), dy = Tensor::full(device, shape, 0.5f);
  Tensor y = Tensor::empty(device, shape), dx = Tensor::empty(device, shape);
  Tensor mean = Tensor::empty(device, {4}), invstd = Tensor::empty(device, {4});
  Tensor step = Tensor::zeros(device, {1}, DType::u32);
  Profiler profiler(device);
  batch_norm_forward(x, {}, {}, {}, {}, {}, mean, invstd, y);
  batch_norm_backward(dy, x, {}, mean, invstd, dx, {}, {});
  Tensor r = relu(x);
  dropout_forward(x, step, y, {.p = 0.25f, .seed = 7});
  std::set<std::string> names;
  for (const KernelTime& k : profiler.kernels()) names.insert(k.name);
  const std::pair<const char*, const char*> kernels[] = {
      {"norm_stats", "norm_stats_windows"},
      {"norm_apply", "norm_apply_windows"},
      {"norm_backward_reduce", "norm_backward_reduce_windows"},
      {"norm_backward_apply", "norm_backward_apply_windows"},
      {"unary", "unary_windows"},
      {"dropout", "dropout_windows"}};
  for (auto [plain, variant] : kernels) {
    INFO(plain);
    CHECK(names.count(variant) == (windowed ? 1u : 0u));
    CHECK(names.count(plain) == (windowed ? 0u : 1u));
  }
}
