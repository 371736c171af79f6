// Helpers shared by the op files: grids, argument checks and the scheduler of a tensor's device.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"
#include "vktrain/ops.hpp"
#include "vktrain/scheduler.hpp"
#include "vktrain/tensor.hpp"

namespace vkt::detail {

// Workgroup size of the one-dimensional elementwise kernels (specialization constant 0).
constexpr uint32_t kElementwiseGroup = 256;

// A grid covering n invocations of `group` each, folded into y when x would exceed 65535 groups
// (the smallest maxComputeWorkGroupCount the spec allows). Shaders index with global_index().
inline std::array<uint32_t, 3> grid_1d(uint64_t n, uint32_t group = kElementwiseGroup) {
  uint64_t groups = (n + group - 1) / group;
  if (groups == 0) groups = 1;
  uint64_t x = groups < 65535 ? groups : 65535;
  uint64_t y = (groups + x - 1) / x;
  return {uint32_t(x), uint32_t(y), 1};
}

// The grid of the kernels that take four elements per invocation (the vec4 elementwise kernels
// and the Philox ones, whose counter yields four numbers): ceil(n / 4) invocations.
inline std::array<uint32_t, 3> grid_fours(uint64_t n, uint32_t group = kElementwiseGroup) {
  return grid_1d((n + 3) / 4, group);
}

inline Scheduler& scheduler_of(const Tensor& t) {
  return t.device().scheduler();
}

// A grid of workgroups within the device's limits, or an error naming the op and `what` needs it.
inline void require_grid(const DeviceInfo& info, const std::array<uint32_t, 3>& groups,
                         const char* op, const std::string& what) {
  VKT_REQUIRE(
      groups[0] <= info.max_workgroup_count[0] && groups[1] <= info.max_workgroup_count[1] &&
          groups[2] <= info.max_workgroup_count[2],
      op,
      "problem too large for one dispatch: " + what + " needs " + std::to_string(groups[0]) +
          " x " + std::to_string(groups[1]) + " x " + std::to_string(groups[2]) + " workgroups");
}

// CPU drivers (lavapipe) run a workgroup's invocations as SIMD lanes of one thread: kernels pick
// smaller groups and other tilings there.
inline bool cpu_device(const Device& device) {
  return device.info().type == "cpu";
}

// True when the device binds `count` uniform-buffer windows (UniformWindows,
// core/scheduler_impl.hpp) at offsets that are multiples of 16 bytes: the packed matmul and conv2d
// and the windowed normalization reductions read through them.
inline bool uniform_windows_available(const Device& device, uint32_t count) {
  const VkPhysicalDeviceLimits& limits = device.shared_state()->properties.limits;
  return device.info().uniform_buffer_windows &&
         limits.maxUniformBufferRange >= kUniformWindowBytes &&
         limits.maxPerStageDescriptorUniformBuffers >= count &&
         16 % limits.minUniformBufferOffsetAlignment == 0;
}

// One dispatch's windows over `tensors`, `per_tensor` each, tensor by tensor as the windowed
// shaders index them: window k of every tensor at byte offset(k) of it.
template <class Offset>
UniformWindows tensor_windows(std::span<const Tensor> tensors, uint32_t per_tensor, Offset offset) {
  UniformWindows windows;
  windows.reserve(tensors.size() * per_tensor);
  for (const Tensor& t : tensors)
    for (uint32_t k = 0; k < per_tensor; ++k) windows.push_back({t, offset(k)});
  return windows;
}

// The dispatches of a windowed plane kernel (max-pooling, the normalizations' plane passes,
// conv2d's padding): `planes` planes of `plane_floats` floats each, read from every tensor of
// `reads` through kDispatchWindows / reads.size() windows a dispatch. Window w of a dispatch holds
// its planes [plane0 + w·per_window, + per_window) from the 16-byte boundary at or before the first
// (planes that are not whole fours start up to 3 floats into it: float
// (plane0 + w·per_window)·plane_floats % 4); a dispatch's plane count is a multiple of `multiple`
// (so that outputs bound from its first plane start on 16 bytes) unless it is the last. Workgroup
// (x, y) of the grid is plane x of window y; windows past the last plane repeat it.
// Workgroup size of those kernels, whose invocations stride over a plane: one subgroup of
// lavapipe's (docs/performance-notes.md, Change 39: 8 lanes 1.3-2x faster than 64).
constexpr uint32_t kPlaneWindowGroup = 8;
struct PlaneDispatch {
  uint64_t plane0, count;  // the dispatch's planes
  UniformWindows windows;
  std::array<uint32_t, 3> grid;
};
struct PlaneWindows {
  uint64_t per_window;  // planes a window holds
  std::vector<PlaneDispatch> dispatches;
};
// 0 planes a window (and no dispatches) where a plane does not fit one.
PlaneWindows plane_windows(std::span<const Tensor> reads, uint64_t planes, uint64_t plane_floats,
                           uint64_t multiple = 1);

// Records a kernel over blocks of four (shaders/common/vec4_access.glsl) on n elements, with the
// push constants `push` (which begin with the element count, uint32_t n) and the grid grid_fours.
// On CPU devices with every block whole (`vec4`: vec4_whole) it records instead its windowed
// variant `windowed_shader` (the shader built with VKT_WINDOWS), reading the tensors `windowed`
// (in slot order; a placeholder, not of n elements, stands in with the first's windows) through
// uniform-buffer windows: as many dispatches as the windows need, each binding the args of n
// elements that it writes or reads through windows from its first block on (the others, read-only
// tensors of their own shape, whole) and pushing its own count as n. block0_at >= 0: the byte
// offset in `push` of a uint32_t that gets each dispatch's first block (a kernel whose values
// depend on the element's index: dropout's counter). fours_per_invocation: blocks of four each
// invocation takes (dropout: 2, one Philox block per eight elements); the grid shrinks by it, and a
// windowed dispatch's invocation takes consecutive blocks of one window.
void dispatch_fours(const Kernel& kernel, std::string_view windowed_shader,
                    std::initializer_list<Arg> args, std::initializer_list<Tensor> windowed,
                    uint64_t n, const void* push, uint32_t push_size, bool vec4, uint32_t group,
                    int block0_at = -1, uint32_t fours_per_invocation = 1);
template <class Push>
void dispatch_fours(const Kernel& kernel, std::string_view windowed_shader,
                    std::initializer_list<Arg> args, std::initializer_list<Tensor> windowed,
                    uint64_t n, const Push& push, bool vec4, uint32_t group = kElementwiseGroup,
                    int block0_at = -1, uint32_t fours_per_invocation = 1) {
  static_assert(sizeof(Push) >= 4 && std::is_trivially_copyable_v<Push>);
  dispatch_fours(kernel, windowed_shader, args, windowed, n, &push, uint32_t(sizeof(Push)), vec4,
                 group, block0_at, fours_per_invocation);
}

// True when every tensor starts on 16 bytes, so a kernel may read and write it as vec4s (the
// allocator's ranges are 256-byte aligned; views may not be).
inline bool vec4_aligned(std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.byte_offset() % 16 != 0) return false;
  return true;
}

// The VEC4 constant of the four-per-invocation elementwise kernels
// (shaders/common/vec4_access.glsl): every block of four is whole (n a multiple of 4) and every
// tensor starts on 16 bytes. It is a specialization constant, not a test per block, so the
// partial-block path compiles out: CPU drivers run both sides of a divergent branch, and the test
// cost ReLU a third of its bandwidth on lavapipe (docs/performance-notes.md).
inline bool vec4_whole(uint64_t n, std::initializer_list<Tensor> tensors) {
  return n % 4 == 0 && vec4_aligned(tensors);
}

inline void require_defined(const Tensor& t, const char* op, const char* name) {
  VKT_REQUIRE(t.defined(), op, std::string(name) + " is an undefined tensor");
}

inline void require_dtype(const Tensor& t, DType dtype, const char* op, const char* name) {
  require_defined(t, op, name);
  VKT_REQUIRE(
      t.dtype() == dtype, op,
      std::string(name) + " is " + dtype_name(t.dtype()) + ", expected " + dtype_name(dtype));
}

inline void require_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* name_a,
                               const char* name_b) {
  VKT_REQUIRE(a.shape() == b.shape(), op,
              std::string(name_a) + " " + shape_str(a.shape()) + " and " + name_b + " " +
                  shape_str(b.shape()) + " must have the same shape");
}

inline void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  VKT_REQUIRE(a.device().shared_state() == b.device().shared_state(), op,
              "tensors live on different devices");
}

}  // namespace vkt::detail
