// dispatch_fours (launch.hpp): the elementwise kernels' windowed variants on CPU devices.
#include "ops/launch.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace vkt::detail {

namespace {
constexpr uint64_t kWindowBlocks = kUniformWindowBytes / 16;  // blocks of four floats in a window
}  // namespace

PlaneWindows plane_windows(std::span<const Tensor> reads, uint64_t planes, uint64_t plane_floats,
                           uint64_t multiple) {
  constexpr uint64_t kFloats = kUniformWindowBytes / 4;
  assert(!reads.empty() && planes > 0 && plane_floats > 0 && multiple > 0);
  const uint64_t room = plane_floats % 4 == 0 ? kFloats : kFloats - 3;
  PlaneWindows plan{plane_floats <= room ? room / plane_floats : 0, {}};
  const uint64_t per_tensor = kDispatchWindows / reads.size();
  const uint64_t span = per_tensor * plan.per_window / multiple * multiple;
  if (span == 0) return {0, {}};
  for (uint64_t plane0 = 0; plane0 < planes; plane0 += span) {
    const uint64_t count = std::min(span, planes - plane0);
    UniformWindows windows = tensor_windows(reads, uint32_t(per_tensor), [&](uint32_t w) {
      const uint64_t first = std::min(plane0 + w * plan.per_window, planes - 1);
      return first * plane_floats / 4 * 16;
    });
    plan.dispatches.push_back({plane0,
                               count,
                               std::move(windows),
                               {uint32_t(std::min(plan.per_window, count)),
                                uint32_t((count + plan.per_window - 1) / plan.per_window), 1}});
  }
  return plan;
}

void dispatch_fours(const Kernel& kernel, std::string_view windowed_shader,
                    std::initializer_list<Arg> args, std::initializer_list<Tensor> windowed,
                    uint64_t n, const void* push, uint32_t push_size, bool vec4, uint32_t group,
                    int block0_at, uint32_t fours_per_invocation) {
  const Tensor& first = args.begin()->tensor;
  const Device& device = first.device();
  if (!vec4 || windowed.size() == 0 || !cpu_device(device) ||
      !uniform_windows_available(device, kDispatchWindows)) {
    scheduler_of(first).dispatch(
        kernel, {args.begin(), args.size()}, push, push_size,
        grid_fours((n + fours_per_invocation - 1) / fours_per_invocation, group));
    return;
  }
  // Workgroup x covers a window's blocks exactly.
  assert(kWindowBlocks % (uint64_t(group) * fours_per_invocation) == 0);
  VulkanScheduler& scheduler = *device.shared_state()->scheduler;
  const uint64_t per_slot = kDispatchWindows / windowed.size();
  const uint64_t blocks = n / 4, span = per_slot * kWindowBlocks;
  const Kernel variant{windowed_shader, kernel.spec};
  // A placeholder (not of n elements: an optional state the kernel does not read) reads the first
  // tensor's windows.
  std::vector<Tensor> sources;
  for (const Tensor& tensor : windowed)
    sources.push_back(uint64_t(tensor.numel()) == n ? tensor : *windowed.begin());
  std::vector<uint8_t> bytes(static_cast<const uint8_t*>(push),
                             static_cast<const uint8_t*>(push) + push_size);
  for (uint64_t b0 = 0; b0 < blocks; b0 += span) {
    const uint64_t count = std::min(span, blocks - b0);
    std::vector<Arg> bound;
    for (const Arg& arg : args) {
      bool elementwise = uint64_t(arg.tensor.numel()) == n &&
                         (arg.access != Access::read ||
                          std::any_of(windowed.begin(), windowed.end(),
                                      [&](const Tensor& t) { return t.same_storage(arg.tensor); }));
      if (!elementwise) {
        bound.push_back(arg);
        continue;
      }
      Tensor flat = arg.tensor.reshape({int64_t(n)});
      bound.push_back({flat.narrow(int64_t(4 * b0), int64_t(4 * count)), arg.access});
    }
    UniformWindows windows = tensor_windows(sources, uint32_t(per_slot), [&](uint32_t w) {
      return std::min(b0 + w * kWindowBlocks, blocks - 1) * 16;
    });
    const uint32_t local_n = uint32_t(4 * count);
    std::memcpy(bytes.data(), &local_n, sizeof(local_n));
    if (block0_at >= 0) {
      const uint32_t first_block = uint32_t(b0);
      std::memcpy(bytes.data() + block0_at, &first_block, sizeof(first_block));
    }
    scheduler.dispatch_windows(variant, bound, windows, bytes.data(), push_size,
                               {uint32_t(kWindowBlocks / group / fours_per_invocation),
                                uint32_t((count + kWindowBlocks - 1) / kWindowBlocks), 1});
  }
}

}  // namespace vkt::detail
