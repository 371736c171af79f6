// Pooling: max_pool2d (with argmax indices), avg_pool2d and global average pooling, forward and
// backward. Elementwise kernels over outputs (forward) or inputs (backward, gathering the covering
// windows); global pooling reduces each plane in one workgroup.
#include <algorithm>
#include <bit>
#include <cassert>
#include <string_view>
#include <vector>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

// PyTorch's stride=None: the stride is the kernel size.
Pool2dParams resolved(Pool2dParams p) {
  if (p.stride_h == 0) p.stride_h = p.kernel_h;
  if (p.stride_w == 0) p.stride_w = p.kernel_w;
  return p;
}

std::string params_str(const Pool2dParams& p) {
  return "kernel (" + std::to_string(p.kernel_h) + ", " + std::to_string(p.kernel_w) +
         "), stride (" + std::to_string(p.stride_h) + ", " + std::to_string(p.stride_w) +
         "), padding (" + std::to_string(p.pad_h) + ", " + std::to_string(p.pad_w) + ")";
}

// avg_pool2d's push constants.
struct WindowPush {
  uint32_t total;
  uint32_t in_h, in_w, out_h, out_w;
  int32_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

WindowPush window_push(int64_t total, const Shape& x, const Shape& y, const Pool2dParams& p) {
  return {uint32_t(total), uint32_t(x[2]), uint32_t(x[3]), uint32_t(y[2]),
          uint32_t(y[3]),  p.kernel_h,     p.kernel_w,     p.stride_h,
          p.stride_w,      p.pad_h,        p.pad_w};
}

// The max-pooling kernels' launch (shaders/common/pool_planes.glsl): positions of a plane along
// x, planes along y and z, the window as specialization constants.
struct PlanesLaunch {
  Kernel kernel;
  std::array<uint32_t, 3> grid;
  struct {
    uint32_t planes, in_h, in_w, out_h, out_w;
    uint32_t per_window = 0, plane0 = 0;  // the windowed variants'
  } push;
};

// positions: per plane, one invocation each (outputs for the forward, inputs for the backward).
PlanesLaunch planes_launch(const Device& device, const char* shader, const char* op, const Shape& x,
                           const Shape& y, const Pool2dParams& p, int64_t positions) {
  int64_t planes = x[0] * x[1];
  VKT_REQUIRE(std::max(x[2] * x[3], positions) < (int64_t(1) << 24) && planes < (int64_t(1) << 32),
              op,
              "x " + shape_str(x) +
                  ": planes of 2^24 positions or more, or 2^32 planes or more, "
                  "are not supported");
  // A workgroup spans one plane's positions, or several small planes: no lane is idle for lack of
  // a second row. CPU drivers (one SIMD vector at a time) get 64 lanes: 8 were 2-3x slower and
  // 256 no faster in the elementwise kernels.
  uint32_t group = cpu_device(device) ? 64 : kElementwiseGroup;
  uint32_t tile_x = uint32_t(std::clamp<uint64_t>(std::bit_ceil(uint64_t(positions)), 8, group));
  uint32_t tile_y = group / tile_x;
  uint64_t groups_x = (uint64_t(positions) + tile_x - 1) / tile_x;
  uint64_t tiles = (uint64_t(planes) + tile_y - 1) / tile_y;
  uint64_t groups_y = std::min<uint64_t>(tiles, 65535),
           groups_z = (tiles + groups_y - 1) / groups_y;
  VKT_REQUIRE(groups_x <= 65535 && groups_z <= 65535, op,
              "x " + shape_str(x) + " needs more workgroups than a dispatch has");
  return {Kernel{shader,
                 {tile_x, uint32_t(p.kernel_h), uint32_t(p.kernel_w), uint32_t(p.stride_h),
                  uint32_t(p.stride_w), uint32_t(p.pad_h), uint32_t(p.pad_w), tile_y}},
          {uint32_t(groups_x), uint32_t(groups_y), uint32_t(groups_z)},
          {uint32_t(planes), uint32_t(x[2]), uint32_t(x[3]), uint32_t(y[2]), uint32_t(y[3])}};
}

// The windowed max-pooling kernels (shaders/common/pool_planes.glsl, VKT_WINDOWS) run on CPU
// devices where the planes they read through windows fit one (planes that are not whole fours of
// floats start up to 3 floats into it: pool_planes.glsl's window_base), and every tensor starts on
// 16 bytes.
constexpr int64_t kWindowFloats = int64_t(kUniformWindowBytes / 4);

bool pool_windows(const Device& device, int64_t window_plane, int64_t planes,
                  std::initializer_list<Tensor> tensors) {
  const int64_t room = window_plane % 4 == 0 ? kWindowFloats : kWindowFloats - 3;
  return cpu_device(device) && window_plane <= room && planes * window_plane < (int64_t(1) << 31) &&
         vec4_aligned(tensors) && uniform_windows_available(device, kDispatchWindows);
}

// Records launch's windowed variant: `reads` (bound whole) are also read through windows
// (kDispatchWindows / reads.size() each) of planes of window_plane floats; each output (a tensor
// and its plane's floats) binds only the dispatch's planes. A dispatch's planes are a multiple of
// four, so that every output's binding starts on 16 bytes.
void dispatch_pool_windows(PlanesLaunch launch, std::string_view shader,
                           std::initializer_list<Tensor> reads, int64_t window_plane,
                           std::initializer_list<std::pair<Tensor, int64_t>> outputs) {
  VulkanScheduler& scheduler = *reads.begin()->device().shared_state()->scheduler;
  const PlaneWindows plan =
      plane_windows({reads.begin(), reads.size()}, launch.push.planes, uint64_t(window_plane), 4);
  assert(plan.per_window > 0);
  Kernel kernel{shader, launch.kernel.spec};
  kernel.spec[0] = kPlaneWindowGroup;  // local size x
  kernel.spec[7] = 1;                  // local size y: one plane a workgroup
  for (const PlaneDispatch& d : plan.dispatches) {
    std::vector<Arg> bound;
    for (const Tensor& t : reads) bound.push_back(in(t));
    for (const auto& [t, plane] : outputs)
      bound.push_back(
          out(t.reshape({t.numel()}).narrow(int64_t(d.plane0) * plane, int64_t(d.count) * plane)));
    auto push = launch.push;
    push.planes = uint32_t(d.plane0 + d.count);
    push.per_window = uint32_t(plan.per_window);
    push.plane0 = uint32_t(d.plane0);
    scheduler.dispatch_windows(kernel, bound, d.windows, &push, sizeof(push), d.grid);
  }
}

void require_f32(const Tensor& t, const char* op, const char* name, const Tensor& reference) {
  require_dtype(t, DType::f32, op, name);
  require_same_device(t, reference, op);
}

void require_shape(const Tensor& t, const char* op, const char* name, const Shape& expected) {
  VKT_REQUIRE(t.shape() == expected, op,
              std::string(name) + " has shape " + shape_str(t.shape()) + ", expected " +
                  shape_str(expected));
}

}  // namespace

Pool2dParams pool2d_params(int kernel, int stride, int padding) {
  return {.kernel_h = kernel,
          .kernel_w = kernel,
          .stride_h = stride,
          .stride_w = stride,
          .pad_h = padding,
          .pad_w = padding};
}

Shape pool2d_output_shape(const Shape& x, const Pool2dParams& params, const char* op) {
  Pool2dParams p = resolved(params);
  VKT_REQUIRE(x.size() == 4, op, "x must be 4-D (N, C, H, W), got " + shape_str(x));
  VKT_REQUIRE(p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h > 0 && p.stride_w > 0 &&
                  p.pad_h >= 0 && p.pad_w >= 0,
              op,
              "invalid parameters: " + params_str(p) +
                  " (kernel and stride must be positive, padding non-negative)");
  // PyTorch's rule; it also keeps every window overlapping the image.
  VKT_REQUIRE(2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w, op,
              "padding must be at most half the kernel: " + params_str(p));
  int64_t padded_h = x[2] + 2 * p.pad_h, padded_w = x[3] + 2 * p.pad_w;
  VKT_REQUIRE(padded_h >= p.kernel_h && padded_w >= p.kernel_w, op,
              "output size is not positive: x " + shape_str(x) + " padded to (" +
                  std::to_string(padded_h) + ", " + std::to_string(padded_w) +
                  ") is smaller than the window, " + params_str(p));
  return {x[0], x[1], (padded_h - p.kernel_h) / p.stride_h + 1,
          (padded_w - p.kernel_w) / p.stride_w + 1};
}

// ---- max pooling ----

void max_pool2d_forward(const Tensor& x, const Pool2dParams& params, const Tensor& y,
                        const Tensor& indices) {
  const char* op = "max_pool2d";
  require_f32(x, op, "x", x);
  require_f32(y, op, "y", x);
  require_dtype(indices, DType::i32, op, "indices");
  require_same_device(indices, x, op);
  Pool2dParams p = resolved(params);
  Shape out_shape = pool2d_output_shape(x.shape(), p, op);
  require_shape(y, op, "y", out_shape);
  require_shape(indices, op, "indices", out_shape);
  if (y.numel() == 0) return;
  // Output planes of whole fours on 16 bytes: four outputs an invocation (OUT4).
  const int64_t in_plane = x.size(2) * x.size(3), out_plane = out_shape[2] * out_shape[3];
  const bool out4 = out_plane % 4 == 0 && vec4_aligned({y, indices});
  PlanesLaunch launch = planes_launch(x.device(), "max_pool2d", op, x.shape(), out_shape, p,
                                      out4 ? out_plane / 4 : out_plane);
  launch.kernel.spec.push_back(out4);
  // PAIRS: 2x2/2 unpadded windows on rows of whole fours: two pairs of neighbours an invocation.
  launch.kernel.spec.push_back(out4 && p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 &&
                               p.stride_w == 2 && p.pad_h == 0 && p.pad_w == 0 &&
                               x.size(3) % 4 == 0 && vec4_aligned({x}));
  if (pool_windows(x.device(), in_plane, x.shape()[0] * x.shape()[1], {x, y, indices})) {
    dispatch_pool_windows(launch, "max_pool2d_windows", {x}, in_plane,
                          {{y, out_plane}, {indices, out_plane}});
    return;
  }
  scheduler_of(x).dispatch(launch.kernel, {in(x), out(y), out(indices)}, launch.push, launch.grid);
}

MaxPool2dResult max_pool2d(const Tensor& x, const Pool2dParams& params) {
  require_defined(x, "max_pool2d", "x");
  Shape shape = pool2d_output_shape(x.shape(), params, "max_pool2d");
  MaxPool2dResult result{Tensor::empty(x.device(), shape),
                         Tensor::empty(x.device(), shape, DType::i32)};
  max_pool2d_forward(x, params, result.y, result.indices);
  return result;
}

void max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dParams& params,
                         const Tensor& dx) {
  const char* op = "max_pool2d";
  require_f32(dx, op, "dx", dx);
  require_f32(dy, op, "dy", dx);
  require_dtype(indices, DType::i32, op, "indices");
  require_same_device(indices, dx, op);
  Pool2dParams p = resolved(params);
  Shape out_shape = pool2d_output_shape(dx.shape(), p, op);
  require_shape(dy, op, "dy", out_shape);
  require_shape(indices, op, "indices", out_shape);
  if (dx.numel() == 0) return;
  // Non-overlapping windows: one invocation per window writes the inputs it owns (the shader's
  // CELLS); otherwise one per input gathers from the windows covering it.
  bool cells = p.stride_h >= p.kernel_h && p.stride_w >= p.kernel_w;
  // PAIRS: 2-wide, unpadded windows along rows of whole fours: two windows an invocation, their
  // cells stored as vec4s.
  bool pairs = cells && p.kernel_w == 2 && p.stride_w == 2 && p.pad_w == 0 && dx.size(3) % 4 == 0 &&
               vec4_aligned({dx});
  const int64_t in_plane = dx.size(2) * dx.size(3), out_plane = out_shape[2] * out_shape[3];
  PlanesLaunch launch = planes_launch(dx.device(), "max_pool2d_backward", op, dx.shape(), out_shape,
                                      p, cells ? out_plane / (pairs ? 2 : 1) : in_plane);
  launch.kernel.spec.push_back(cells);
  launch.kernel.spec.push_back(pairs);
  if (cells &&
      pool_windows(dx.device(), out_plane, dx.shape()[0] * dx.shape()[1], {dy, indices, dx})) {
    dispatch_pool_windows(launch, "max_pool2d_backward_windows", {dy, indices}, out_plane,
                          {{dx, in_plane}});
    return;
  }
  scheduler_of(dx).dispatch(launch.kernel, {in(dy), in(indices), out(dx)}, launch.push,
                            launch.grid);
}

// ---- average pooling ----

void avg_pool2d_forward(const Tensor& x, const Pool2dParams& params, const Tensor& y) {
  const char* op = "avg_pool2d";
  require_f32(x, op, "x", x);
  require_f32(y, op, "y", x);
  Pool2dParams p = resolved(params);
  Shape out_shape = pool2d_output_shape(x.shape(), p, op);
  require_shape(y, op, "y", out_shape);
  if (y.numel() == 0) return;
  scheduler_of(x).dispatch(Kernel{"avg_pool2d", {kElementwiseGroup, 0, p.count_include_pad}},
                           {in(x), out(y)}, window_push(y.numel(), x.shape(), out_shape, p),
                           grid_1d(y.numel()));
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  require_defined(x, "avg_pool2d", "x");
  Tensor y = Tensor::empty(x.device(), pool2d_output_shape(x.shape(), params, "avg_pool2d"));
  avg_pool2d_forward(x, params, y);
  return y;
}

void avg_pool2d_backward(const Tensor& dy, const Pool2dParams& params, const Tensor& dx) {
  const char* op = "avg_pool2d";
  require_f32(dx, op, "dx", dx);
  require_f32(dy, op, "dy", dx);
  Pool2dParams p = resolved(params);
  Shape out_shape = pool2d_output_shape(dx.shape(), p, op);
  require_shape(dy, op, "dy", out_shape);
  if (dx.numel() == 0) return;
  scheduler_of(dx).dispatch(Kernel{"avg_pool2d", {kElementwiseGroup, 1, p.count_include_pad}},
                            {in(dy), out(dx)}, window_push(dx.numel(), dx.shape(), out_shape, p),
                            grid_1d(dx.numel()));
}

// ---- global average pooling ----

namespace {
constexpr const char* kGlobalOp = "global_avg_pool2d";

Shape global_shape(const Tensor& x) {
  VKT_REQUIRE(x.dim() == 4, kGlobalOp, "x must be 4-D (N, C, H, W), got " + shape_str(x.shape()));
  return {x.size(0), x.size(1), 1, 1};
}
}  // namespace

void global_avg_pool2d_forward(const Tensor& x, const Tensor& y) {
  require_f32(x, kGlobalOp, "x", x);
  require_f32(y, kGlobalOp, "y", x);
  require_shape(y, kGlobalOp, "y", global_shape(x));
  if (y.numel() == 0) return;
  VKT_REQUIRE(x.numel() > 0, kGlobalOp, "x " + shape_str(x.shape()) + " has empty planes");
  // 64 invocations per plane: typical late-network planes are 7x7 to 16x16.
  constexpr uint32_t kGroup = 64;
  struct {
    uint32_t planes, plane_size;
  } push{uint32_t(y.numel()), uint32_t(x.size(2) * x.size(3))};
  std::array<uint32_t, 3> grid = grid_1d(uint64_t(y.numel()) * kGroup, kGroup);
  scheduler_of(x).dispatch(Kernel{"avg_pool2d_global", {kGroup}}, {in(x), out(y)}, push, grid);
}

Tensor global_avg_pool2d(const Tensor& x) {
  require_defined(x, kGlobalOp, "x");
  Tensor y = Tensor::empty(x.device(), global_shape(x));
  global_avg_pool2d_forward(x, y);
  return y;
}

void global_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) {
  require_f32(dx, kGlobalOp, "dx", dx);
  require_f32(dy, kGlobalOp, "dy", dx);
  require_shape(dy, kGlobalOp, "dy", global_shape(dx));
  if (dx.numel() == 0) return;
  // The one window covers the whole plane: avg_pool2d's backward with kernel = stride = (H, W).
  Pool2dParams whole{.kernel_h = int(dx.size(2)),
                     .kernel_w = int(dx.size(3)),
                     .stride_h = int(dx.size(2)),
                     .stride_w = int(dx.size(3))};
  scheduler_of(dx).dispatch(Kernel{"avg_pool2d", {kElementwiseGroup, 1, 1}}, {in(dy), out(dx)},
                            window_push(dx.numel(), dx.shape(), dy.shape(), whole),
                            grid_1d(dx.numel()));
}

}  // namespace vkt
