// conv2d forward and backward: implicit GEMMs (shaders/conv2d.comp for forward and backward-data,
// shaders/conv2d_wgrad.comp for backward-weight) and a per-channel reduction for the bias gradient.
#include <algorithm>

#include "ops/conv2d_packed.hpp"
#include "ops/kernel_choice.hpp"
#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

constexpr const char* kOp = "conv2d";

struct Tiling {
  uint32_t bm, bn, bk, tm, tn;
  uint32_t threads() const { return (bm / tm) * (bn / tn); }
};

// Per device and problem: 128x128 tiles of 8x8 per invocation for big GEMMs (twice the FMAs per
// shared-memory read of 4x4 blocks), 64x64 of 4x4 where 256 invocations fit, else 32x32; a narrow N
// (few channels per group) gets tiles as narrow, so most of each tile is real work: 64x16 up to 16
// channels, 128x32 (256 invocations of 4x4, as 64x64) up to 32 where M has 128 rows to fill — the
// sample CNN's first block, whose 32 channels left half of every 64x64 tile idle (lavapipe, tiled
// kernel forced: 1.55x on its forward and on the next layer's backward-data; the first layer's
// backward-weight, M = 9, lost 12% with it and keeps 64x64). Every choice satisfies the load
// invariants listed at the top of the shaders.
Tiling choose_tiling(const DeviceInfo& info, int64_t gemm_m, int64_t gemm_n) {
  bool large = info.max_workgroup_invocations >= 256 && info.max_shared_memory >= 16 * 1024;
  bool huge = info.max_workgroup_invocations >= 256 && info.max_shared_memory >= 24 * 1024;
  if (gemm_n <= 16) return {64, 16, 16, 4, 4};
  if (large && gemm_n <= 32 && gemm_m >= 128) return {128, 32, 16, 4, 4};
  if (huge && gemm_m >= 512 && gemm_n >= 128) return {128, 128, 16, 8, 8};
  if (large) return {64, 64, 16, 4, 4};
  return {32, 32, 16, 4, 4};
}

bool valid_tiling(const Tiling& t) {
  uint32_t threads = t.threads();
  return t.tm % 4 == 0 && t.tn % 4 == 0 && threads % t.bm == 0 && t.bk % (threads / t.bm) == 0 &&
         threads % t.bk == 0 && t.bn % (threads / t.bk) == 0 && t.bm % (threads / t.bk) == 0;
}

// The packed kernels (lib/ops/conv2d_packed.cpp) on devices with the uniform-buffer windows they
// need (packed_matmul_available: the same limits): the default on CPU devices where `size` is at
// least 32 — the reduction forward and backward-data (as matmul), the weight columns (Cin·kH·kW,
// what the lanes own) backward-weight: the 1-channel layer's 9 ran 62-67 ms subgroup against 99
// packed, 2026-12-03. Fewer weight columns take the packed kernel's channel lanes instead
// (dispatch_wgrad).
PackedKernel packed_kernel(const Device& device, int64_t size) {
  if (!packed_matmul_available(device)) return PackedKernel::none;
  return size >= 32 ? PackedKernel::preferred : PackedKernel::available;
}

std::string params_str(const Conv2dParams& p) {
  return "stride (" + std::to_string(p.stride_h) + ", " + std::to_string(p.stride_w) +
         "), padding (" + std::to_string(p.pad_h) + ", " + std::to_string(p.pad_w) +
         "), dilation (" + std::to_string(p.dilation_h) + ", " + std::to_string(p.dilation_w) +
         "), groups " + std::to_string(p.groups);
}

// The sizes every conv2d kernel needs, validated once.
struct Geometry {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, out_h, out_w;
  int64_t kernel_h, kernel_w;
  int64_t groups;
  int64_t taps() const { return kernel_h * kernel_w; }
  int64_t in_group() const { return in_channels / groups; }
  int64_t out_group() const { return out_channels / groups; }
};

Geometry geometry(const Shape& x, const Shape& weight, const Conv2dParams& p) {
  VKT_REQUIRE(x.size() == 4, kOp, "x must be 4-D (N, C, H, W), got " + shape_str(x));
  VKT_REQUIRE(weight.size() == 4, kOp,
              "weight must be 4-D (Cout, Cin/groups, kH, kW), got " + shape_str(weight));
  VKT_REQUIRE(p.stride_h > 0 && p.stride_w > 0 && p.dilation_h > 0 && p.dilation_w > 0 &&
                  p.pad_h >= 0 && p.pad_w >= 0 && p.groups > 0,
              kOp,
              "invalid parameters: " + params_str(p) +
                  " (strides, dilations and groups must be positive, padding non-negative)");
  Geometry g{x[0], x[1], x[2], x[3], weight[0], 0, 0, weight[2], weight[3], p.groups};
  VKT_REQUIRE(g.in_channels % p.groups == 0 && g.out_channels % p.groups == 0, kOp,
              "groups " + std::to_string(p.groups) + " must divide the input channels of x " +
                  shape_str(x) + " and the output channels of weight " + shape_str(weight));
  VKT_REQUIRE(weight[1] * p.groups == g.in_channels, kOp,
              "weight " + shape_str(weight) + " expects " + std::to_string(weight[1] * p.groups) +
                  " input channels (" + std::to_string(weight[1]) + " x groups " +
                  std::to_string(p.groups) + "), x " + shape_str(x) + " has " +
                  std::to_string(g.in_channels));
  VKT_REQUIRE(g.kernel_h > 0 && g.kernel_w > 0 && g.out_channels > 0, kOp,
              "weight " + shape_str(weight) + " has an empty dimension");
  int64_t span_h = p.dilation_h * (g.kernel_h - 1) + 1,
          span_w = p.dilation_w * (g.kernel_w - 1) + 1;
  int64_t padded_h = g.in_h + 2 * p.pad_h, padded_w = g.in_w + 2 * p.pad_w;
  VKT_REQUIRE(padded_h >= span_h && padded_w >= span_w, kOp,
              "output size is not positive: x " + shape_str(x) + " padded to (" +
                  std::to_string(padded_h) + ", " + std::to_string(padded_w) +
                  ") is smaller than the dilated kernel (" + std::to_string(span_h) + ", " +
                  std::to_string(span_w) + ") of weight " + shape_str(weight) + ", " +
                  params_str(p));
  g.out_h = (padded_h - span_h) / p.stride_h + 1;
  g.out_w = (padded_w - span_w) / p.stride_w + 1;
  return g;
}

// The push constants shared (in layout) by conv2d.comp in both modes.
struct GemmPush {
  uint32_t src_channels, src_h, src_w;
  uint32_t dst_channels, dst_h, dst_w;
  uint32_t gemm_m, gemm_n, gemm_k;
  uint32_t kernel_h, kernel_w;
  uint32_t stride_h, stride_w;
  int32_t pad_h, pad_w;
  uint32_t dilation_h, dilation_w;
  uint32_t step_c, step_h, step_w;
};

// Tiles of m along x, folded into y (as n tile + n_tiles · fold) past the device's x limit.
std::array<uint32_t, 3> gemm_grid(const Device& device, int64_t m, int64_t n, const Tiling& t,
                                  int64_t z) {
  uint64_t m_tiles = uint64_t((m + t.bm - 1) / t.bm), n_tiles = uint64_t((n + t.bn - 1) / t.bn);
  uint64_t x_limit = std::min<uint64_t>(device.info().max_workgroup_count[0], 65535);
  uint64_t x = std::min(m_tiles, x_limit);
  uint64_t fold = (m_tiles + x - 1) / x;
  VKT_REQUIRE(n_tiles * fold <= 65535 && uint64_t(z) <= 65535, kOp,
              "problem too large for one dispatch: " + std::to_string(m_tiles) + " x " +
                  std::to_string(n_tiles) + " x " + std::to_string(z) + " tiles");
  return {uint32_t(x), uint32_t(n_tiles * fold), uint32_t(z)};
}

// The tuning key of one conv2d GEMM: the pass, the layer's shape and the batch's size bucket.
std::string gemm_key(const char* pass, const Geometry& g, const Conv2dParams& p,
                     int64_t positions) {
  return std::string(pass) + " cin" + std::to_string(g.in_channels) + " cout" +
         std::to_string(g.out_channels) + " k" + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + " " + params_str(p) + " positions" +
         std::to_string(size_bucket(positions));
}

// Implicit GEMM of conv2d.comp: mode 0 forward (src x, dst y), mode 1 backward-data (src dy, dst
// dx).
void dispatch_gemm(uint32_t mode, const Geometry& g, const Conv2dParams& p, const Tensor& src,
                   const Tensor& weight, const Tensor& dst, const Tensor& bias) {
  bool forward = mode == 0;
  int64_t src_channels = forward ? g.in_channels : g.out_channels;
  int64_t src_h = forward ? g.in_h : g.out_h, src_w = forward ? g.in_w : g.out_w;
  int64_t dst_channels = forward ? g.out_channels : g.in_channels;
  int64_t dst_h = forward ? g.out_h : g.in_h, dst_w = forward ? g.out_w : g.in_w;
  int64_t gemm_m = g.batch * dst_h * dst_w;
  int64_t gemm_n = dst_channels / g.groups;
  int64_t gemm_k = src_channels / g.groups * g.taps();
  const DeviceInfo& info = src.device().info();
  TuningScratch scratch({src, weight, dst});
  auto record = [&](const KernelChoice& candidate) {
    const std::vector<Tensor>& s = scratch.tensors();
    Conv2dParams timed = p;
    timed.kernel = candidate;
    dispatch_gemm(mode, g, timed, s[0], s[1], s[2], bias);
  };
  PackedConvPass pass{mode,    g.batch, src_channels, src_h,        src_w,      dst_channels,
                      dst_h,   dst_w,   g.kernel_h,   g.kernel_w,   p.stride_h, p.stride_w,
                      p.pad_h, p.pad_w, p.dilation_h, p.dilation_w, p.groups};
  // Forward passes whose results it stores four at a time take the packed kernel at any reduction
  // length: its vec4 stores made the 1-channel layer (K = 9) 1.3-1.4x faster than the subgroup
  // kernel (docs/performance-notes.md, Change 40).
  PackedKernel packed = packed_kernel(src.device(), gemm_k);
  if (packed == PackedKernel::available && forward &&
      packed_conv2d_stores_quads(pass, info.subgroup_size))
    packed = PackedKernel::preferred;
  // The packed tile defaults to one subgroup of channels (8 on lavapipe: 10-25% faster than 16,
  // docs/performance-notes.md Change 19) by kPackedConvColumns positions a lane (Change 42).
  KernelChoice choice = tuned_kernel(
      src.device(), kOp, "VKTRAIN_CONV2D_KERNEL", p.kernel, gemm_n, gemm_m,
      [&] { return gemm_key(forward ? "fwd" : "bwd_data", g, p, gemm_m); }, record, packed, 1,
      kPackedConvColumns);
  if (choice.kind == KernelChoice::Kind::packed) {
    if (packed_conv2d_fits(pass, src, weight, choice)) {
      packed_conv2d(pass, src, weight, dst, bias, choice);
      return;
    }
    choice.kind = KernelChoice::Kind::subgroup;  // the shape's fallback, with the same tile
  }
  bool subgroup = choice.kind == KernelChoice::Kind::subgroup;
  // The subgroup kernel's tile in Tiling's terms (for the grid): bm positions by bn channels.
  Tiling t = subgroup ? Tiling{info.subgroup_size * choice.columns, choice.rows, 1, 1, 1}
                      : choose_tiling(info, gemm_m, gemm_n);
  VKT_REQUIRE(subgroup || valid_tiling(t), kOp,
              "internal: tiling breaks the shader's load invariants");
  GemmPush push{uint32_t(src_channels),
                uint32_t(src_h),
                uint32_t(src_w),
                uint32_t(dst_channels),
                uint32_t(dst_h),
                uint32_t(dst_w),
                uint32_t(gemm_m),
                uint32_t(gemm_n),
                uint32_t(gemm_k),
                uint32_t(g.kernel_h),
                uint32_t(g.kernel_w),
                uint32_t(p.stride_h),
                uint32_t(p.stride_w),
                p.pad_h,
                p.pad_w,
                uint32_t(p.dilation_h),
                uint32_t(p.dilation_w),
                uint32_t(t.bk / g.taps()),
                uint32_t(t.bk % g.taps() / g.kernel_w),
                uint32_t(t.bk % g.kernel_w)};
  bool unit_stride = p.stride_h == 1 && p.stride_w == 1;
  Kernel kernel =
      subgroup
          ? Kernel{"conv2d_subgroup",
                   {info.subgroup_size, choice.rows, choice.columns, mode, bias.defined(),
                    unit_stride}}
          : Kernel{"conv2d", {t.threads(), t.bm, t.bn, t.bk, t.tm, t.tn, mode, bias.defined()}};
  scheduler_of(src).dispatch(kernel,
                             {in(src), in(weight), out(dst), in(bias.defined() ? bias : src)}, push,
                             gemm_grid(src.device(), gemm_m, gemm_n, t, g.groups));
}

// Backward-weight, split over the N·Ho·Wo reduction when the output alone is too small to fill a
// GPU; partial sums then go through a scratch tensor and conv2d_split_sum (fixed order). The
// splits' position ranges depend on the problem only, not on the kernel, so that the tiled and
// the subgroup kernel sum the same positions in the same order (bit-identical results).
void dispatch_wgrad(const Geometry& g, const Conv2dParams& p, const Tensor& dy, const Tensor& x,
                    const Tensor& dweight, bool accumulate) {
  constexpr uint64_t kTargetWorkgroups = 256;  // enough to occupy a large GPU
  constexpr uint64_t kSlice = 16;              // positions per slice: BK of every tiled choice
  constexpr uint64_t kMinSlicesPerSplit = 8;   // keeps each split's setup amortised
  constexpr uint64_t kMaxScratchFloats = uint64_t(1) << 24;
  constexpr uint64_t kNominalTile = 64;  // the output tile the split count is sized for
  int64_t gemm_m = g.in_group() * g.taps(), gemm_n = g.out_group();
  int64_t positions = g.batch * g.out_h * g.out_w;
  const DeviceInfo& info = dy.device().info();
  TuningScratch scratch({dy, x, dweight});
  auto record = [&](const KernelChoice& candidate) {
    const std::vector<Tensor>& s = scratch.tensors();
    Conv2dParams timed = p;
    timed.kernel = candidate;
    dispatch_wgrad(g, timed, s[0], s[1], s[2], false);
  };
  PackedConvPass pass{0,       g.batch, g.in_channels, g.in_h,       g.in_w,     g.out_channels,
                      g.out_h, g.out_w, g.kernel_h,    g.kernel_w,   p.stride_h, p.stride_w,
                      p.pad_h, p.pad_w, p.dilation_h,  p.dilation_w, p.groups};
  // Few weight columns: the packed kernel's lanes own channels instead (channel lanes), which
  // suits them as 32 or more columns suit the usual tile.
  const bool packed_fits = packed_conv2d_wgrad_fits(pass, dy, x);
  PackedKernel packed_use = packed_kernel(dy.device(), gemm_m);
  if (packed_use == PackedKernel::available &&
      packed_conv2d_wgrad_channel_lanes(pass, info.subgroup_size) && packed_fits)
    packed_use = PackedKernel::preferred;
  KernelChoice choice = tuned_kernel(
      dy.device(), kOp, "VKTRAIN_CONV2D_KERNEL", p.kernel, gemm_n, gemm_m,
      [&] { return gemm_key("bwd_weight", g, p, positions); }, record, packed_use);
  const bool packed = choice.kind == KernelChoice::Kind::packed && packed_fits;
  if (choice.kind == KernelChoice::Kind::packed && !packed)
    choice.kind = KernelChoice::Kind::subgroup;  // the shape's fallback, with the same tile
  bool subgroup = choice.kind != KernelChoice::Kind::tiled;
  Tiling t = choose_tiling(info, gemm_m, gemm_n);
  VKT_REQUIRE(subgroup || (valid_tiling(t) && t.bk == kSlice), kOp,
              "internal: tiling breaks the shader's load invariants");
  uint64_t base = uint64_t((gemm_m + kNominalTile - 1) / kNominalTile) *
                  uint64_t((gemm_n + kNominalTile - 1) / kNominalTile) * uint64_t(g.groups);
  uint64_t slices = uint64_t((positions + kSlice - 1) / kSlice);
  uint64_t splits = (kTargetWorkgroups + base - 1) / base;
  splits = std::min(splits, std::max<uint64_t>(1, slices / kMinSlicesPerSplit));
  splits = std::min(splits, std::max<uint64_t>(1, kMaxScratchFloats / uint64_t(dweight.numel())));
  splits = std::min(splits, std::max<uint64_t>(1, 65535 / uint64_t(g.groups)));
  uint64_t slices_per_split = (slices + splits - 1) / splits;
  splits = (slices + slices_per_split - 1) / slices_per_split;
  bool split = splits > 1;

  int64_t plane = g.out_h * g.out_w;
  struct {
    uint32_t in_channels, in_h, in_w, out_channels, out_h, out_w;
    uint32_t gemm_m, gemm_n, gemm_k, kernel_h, kernel_w, stride_h, stride_w;
    int32_t pad_h, pad_w;
    uint32_t dilation_h, dilation_w, step_n, step_h, step_w;
    uint32_t groups, slices_per_split, split_stride;
  } push{
      uint32_t(g.in_channels), uint32_t(g.in_h), uint32_t(g.in_w), uint32_t(g.out_channels),
      uint32_t(g.out_h), uint32_t(g.out_w), uint32_t(gemm_m), uint32_t(gemm_n), uint32_t(positions),
      uint32_t(g.kernel_h), uint32_t(g.kernel_w), uint32_t(p.stride_h), uint32_t(p.stride_w),
      p.pad_h, p.pad_w, uint32_t(p.dilation_h), uint32_t(p.dilation_w), uint32_t(t.bk / plane),
      uint32_t(t.bk % plane / g.out_w), uint32_t(t.bk % g.out_w), uint32_t(g.groups),
      // The subgroup kernel walks single positions: its "slice" is one position.
      uint32_t(subgroup ? slices_per_split * kSlice : slices_per_split), uint32_t(dweight.numel())};
  Kernel kernel =
      subgroup
          ? Kernel{"conv2d_wgrad_subgroup",
                   {info.subgroup_size, choice.rows, choice.columns, split, accumulate}}
          : Kernel{"conv2d_wgrad", {t.threads(), t.bm, t.bn, t.bk, t.tm, t.tn, split, accumulate}};
  // Subgroup tiles: SG·TN weight columns (m) by TM output channels (n).
  uint32_t tile_m = subgroup ? info.subgroup_size * choice.columns : t.bm;
  uint32_t tile_n = subgroup ? choice.rows : t.bn;
  std::array<uint32_t, 3> grid{uint32_t((gemm_m + tile_m - 1) / tile_m),
                               uint32_t((gemm_n + tile_n - 1) / tile_n),
                               uint32_t(g.groups * splits)};
  Scheduler& scheduler = scheduler_of(dy);
  // dW (accumulating without splits) or the splits' partials.
  auto record_gemm = [&](const Tensor& target, Access access) {
    if (packed)
      packed_conv2d_wgrad(pass, dy, x, target, choice, split, accumulate && !split,
                          slices_per_split * kSlice);
    else
      scheduler.dispatch(kernel, {in(dy), in(x), {target, access}}, push, grid);
  };
  if (!split) {
    record_gemm(dweight, accumulate ? Access::read_write : Access::write);
    return;
  }
  Tensor partials = Tensor::empty(dy.device(), {int64_t(splits), dweight.numel()});
  record_gemm(partials, Access::write);
  struct {
    uint32_t n, splits;
  } sum_push{uint32_t(dweight.numel()), uint32_t(splits)};
  Access access = accumulate ? Access::read_write : Access::write;
  scheduler.dispatch(Kernel{"conv2d_split_sum", {kElementwiseGroup, accumulate}},
                     {in(partials), {dweight, access}}, sum_push, grid_1d(dweight.numel()));
}

void dispatch_bias_grad(const Geometry& g, const Tensor& dy, const Tensor& dbias, bool accumulate) {
  constexpr uint32_t kGroup = 256;
  struct {
    uint32_t batch, channels, plane;
  } push{uint32_t(g.batch), uint32_t(g.out_channels), uint32_t(g.out_h * g.out_w)};
  uint32_t x = uint32_t(std::min<int64_t>(g.out_channels, 65535));
  uint32_t y = uint32_t((g.out_channels + x - 1) / x);
  Access access = accumulate ? Access::read_write : Access::write;
  scheduler_of(dy).dispatch(Kernel{"conv2d_bias_grad", {kGroup, accumulate}},
                            {in(dy), {dbias, access}}, push, {x, y, 1});
}

void require_float(const Tensor& t, const char* name, const Tensor& reference) {
  require_dtype(t, DType::f32, kOp, name);
  require_same_device(t, reference, kOp);
}

void require_shape(const Tensor& t, const char* name, const Shape& expected) {
  VKT_REQUIRE(t.shape() == expected, kOp,
              std::string(name) + " has shape " + shape_str(t.shape()) + ", expected " +
                  shape_str(expected));
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dParams& params) {
  Geometry g = geometry(x, weight, params);
  return {g.batch, g.out_channels, g.out_h, g.out_w};
}

void conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Conv2dParams& params, const Tensor& y) {
  require_float(x, "x", x);
  require_float(weight, "weight", x);
  require_float(y, "y", x);
  Geometry g = geometry(x.shape(), weight.shape(), params);
  require_shape(y, "y", {g.batch, g.out_channels, g.out_h, g.out_w});
  if (bias.defined()) {
    require_float(bias, "bias", x);
    require_shape(bias, "bias", {g.out_channels});
  }
  if (y.numel() == 0) return;
  VKT_REQUIRE(x.numel() > 0, kOp, "x " + shape_str(x.shape()) + " is empty but y is not");
  dispatch_gemm(0, g, params, x, weight, y, bias);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& params) {
  require_defined(x, kOp, "x");
  require_defined(weight, kOp, "weight");
  Tensor y = Tensor::empty(x.device(), conv2d_output_shape(x.shape(), weight.shape(), params));
  conv2d_forward(x, weight, bias, params, y);
  return y;
}

void conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                     const Conv2dParams& params, const Tensor& dx, const Tensor& dweight,
                     const Tensor& dbias, bool accumulate) {
  require_float(dy, "dy", dy);
  // x's and weight's shapes come from the gradients when the tensors themselves are not needed.
  VKT_REQUIRE(!dx.defined() || weight.defined(), kOp, "dx needs the weight");
  VKT_REQUIRE(!dweight.defined() || x.defined(), kOp, "dweight needs x");
  VKT_REQUIRE(x.defined() || dx.defined(), kOp, "x's shape is unknown: pass x or dx");
  VKT_REQUIRE(weight.defined() || dweight.defined(), kOp,
              "weight's shape is unknown: pass weight or dweight");
  const Shape& x_shape = x.defined() ? x.shape() : dx.shape();
  const Shape& w_shape = weight.defined() ? weight.shape() : dweight.shape();
  Geometry g = geometry(x_shape, w_shape, params);
  require_shape(dy, "dy", {g.batch, g.out_channels, g.out_h, g.out_w});
  if (x.defined()) require_float(x, "x", dy);
  if (weight.defined()) require_float(weight, "weight", dy);
  if (dx.defined()) {
    require_float(dx, "dx", dy);
    require_shape(dx, "dx", x_shape);
  }
  if (dweight.defined()) {
    require_float(dweight, "dweight", dy);
    require_shape(dweight, "dweight", w_shape);
  }
  if (dbias.defined()) {
    require_float(dbias, "dbias", dy);
    require_shape(dbias, "dbias", {g.out_channels});
  }

  bool empty = dy.numel() == 0;
  if (dx.defined() && dx.numel() > 0) {
    if (empty)
      dx.fill(0.0f);
    else
      dispatch_gemm(1, g, params, dy, weight, dx, Tensor{});
  }
  if (dweight.defined() && dweight.numel() > 0) {
    if (empty) {
      if (!accumulate) dweight.fill(0.0f);
    } else {
      dispatch_wgrad(g, params, dy, x, dweight, accumulate);
    }
  }
  if (dbias.defined() && dbias.numel() > 0) {
    if (empty) {
      if (!accumulate) dbias.fill(0.0f);
    } else {
      dispatch_bias_grad(g, dy, dbias, accumulate);
    }
  }
}

}  // namespace vkt
