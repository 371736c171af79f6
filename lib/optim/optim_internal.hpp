// Pieces shared by the optimizer files: kernel sizes and the multi-tensor reductions of gradient
// clipping and weight penalties.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>

#include "ops/launch.hpp"
#include "vktrain/optim.hpp"

namespace vkt::optim::detail {

using vkt::detail::grid_1d;
using vkt::detail::scheduler_of;

// Workgroup size of the per-element update kernels (specialization constant 0).
constexpr uint32_t kUpdateGroup = 256;

// The update kernels take four elements per invocation (shaders/common/vec4_access.glsl): their
// VEC4 constant (vec4_whole: n a multiple of 4, the parameter and gradient on 16
// bytes; state buffers are allocations of their own, always aligned).
inline uint32_t update_vec4(const ParamRef& param) {
  return vkt::detail::vec4_whole(uint64_t(param.value.numel()), {param.value, param.grad});
}
// Records an update kernel over the parameter (dispatch_fours in lib/ops/launch.hpp: its windowed
// variant `windowed_shader` on CPU devices, reading `windowed` through uniform-buffer windows).
template <class Push>
void dispatch_update(const Kernel& kernel, std::string_view windowed_shader,
                     std::initializer_list<Arg> args, std::initializer_list<Tensor> windowed,
                     const ParamRef& param, const Push& push) {
  vkt::detail::dispatch_fours(kernel, windowed_shader, args, windowed,
                              uint64_t(param.value.numel()), push, update_vec4(param) != 0,
                              kUpdateGroup);
}

// Multi-tensor reductions: each tensor's pass writes a block of kReductionSlots partial sums
// (unused slots zeroed), then one workgroup combines all blocks in a fixed order. A block is 64
// floats = 256 bytes, the largest minStorageBufferOffsetAlignment Vulkan allows, so every block is
// a view that can be bound on its own — the per-tensor passes write disjoint bindings and need no
// barriers between them.
constexpr uint32_t kReductionSlots = 64;

// Workgroups of a partial-sums pass over n elements: one per 256 elements, at most one block.
inline uint32_t partial_groups(int64_t n) {
  int64_t groups = (n + kUpdateGroup - 1) / kUpdateGroup;
  return uint32_t(std::clamp<int64_t>(groups, 1, kReductionSlots));
}

// The block of tensor `index` in a partials tensor of (count * kReductionSlots,) floats.
inline Tensor reduction_block(const Tensor& partials, size_t index) {
  return partials.narrow(int64_t(index) * kReductionSlots, kReductionSlots);
}

// A setting in messages and signatures: the shortest text that reads back as the same double.
inline std::string number(double value) {
  char text[32];
  auto result = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, result.ptr);
}

// clip_grad_norm.comp's NORM constant.
enum class Norm : uint32_t { infinity = 0, l1 = 1, l2 = 2 };

// out[0] = combine of all of partials (blocks written by partial passes); L2 takes the square root.
void finish_reduction(const Tensor& partials, const Tensor& out, Norm norm);

}  // namespace vkt::optim::detail
