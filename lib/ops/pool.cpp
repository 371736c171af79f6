// Pooling: max_pool2d (with argmax indices), avg_pool2d and global average pooling, forward and
// backward. Elementwise kernels over outputs (forward) or inputs (backward, gathering the covering
// windows); global pooling reduces each plane in one workgroup.
#include <algorithm>
#include <bit>

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
  } push;
};

// positions: per plane, one invocation each (outputs for the forward, inputs for the backward).
PlanesLaunch planes_launch(const Device& device, const char* shader, const char* op, const Shape& x,
                           const Shape& y, const Pool2dParams& p, int64_t positions) {
  int64_t planes = x[0] * x[1];
  VKT_REQUIRE(std::max(x[2] * x[3], positions) < (int64_t(1) << 24) && planes < (int64_t(1) << 32), op,
              "x " + shape_str(x) + ": planes of 2^24 positions or more, or 2^32 planes or more, "
              "are not supported");
  // A workgroup spans one plane's positions, or several small planes: no lane is idle for lack of
  // a second row. CPU drivers (one SIMD vector at a time) get 64 lanes: 8 were 2-3x slower and
  // 256 no faster in the elementwise kernels.
  uint32_t group = cpu_device(device) ? 64 : kElementwiseGroup;
  uint32_t tile_x = uint32_t(std::clamp<uint64_t>(std::bit_ceil(uint64_t(positions)), 8, group));
  uint32_t tile_y = group / tile_x;
  uint64_t groups_x = (uint64_t(positions) + tile_x - 1) / tile_x;
  uint64_t tiles = (uint64_t(planes) + tile_y - 1) / tile_y;
  uint64_t groups_y = std::min<uint64_t>(tiles, 65535), groups_z = (tiles + groups_y - 1) / groups_y;
  VKT_REQUIRE(groups_x <= 65535 && groups_z <= 65535, op,
              "x " + shape_str(x) + " needs more workgroups than a dispatch has");
  return {Kernel{shader,
                 {tile_x, uint32_t(p.kernel_h), uint32_t(p.kernel_w), uint32_t(p.stride_h),
                  uint32_t(p.stride_w), uint32_t(p.pad_h), uint32_t(p.pad_w), tile_y}},
          {uint32_t(groups_x), uint32_t(groups_y), uint32_t(groups_z)},
          {uint32_t(planes), uint32_t(x[2]), uint32_t(x[3]), uint32_t(y[2]), uint32_t(y[3])}};
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
  PlanesLaunch launch = planes_launch(x.device(), "max_pool2d", op, x.shape(), out_shape, p,
                                      out_shape[2] * out_shape[3]);
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
  PlanesLaunch launch = planes_launch(dx.device(), "max_pool2d_backward", op, dx.shape(), out_shape,
                                      p, cells ? out_shape[2] * out_shape[3] : dx.size(2) * dx.size(3));
  launch.kernel.spec.push_back(cells);
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
