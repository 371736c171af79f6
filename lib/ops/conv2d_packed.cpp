// The packed conv2d: shaders/conv2d_packed.comp reads the weights and the gathered source through
// uniform-buffer windows (see there). Per call: the weight is packed into k-major tiles of TM
// result channels (conv2d_weight_pack.comp; backward-data transposes it on the way); the source
// is zero-padded (conv2d_pad.comp) where the taps reach past it and, for the quads of unit-stride
// rows, to rows of whole vec4s; then one dispatch per block of channel tiles (a window each) by
// images (their source planes in the windows left), the fewest that fit in kDispatchWindows
// windows. The sums run in conv2d_subgroup.comp's order: results are bit-identical to the other
// conv2d kernels.
#include "ops/conv2d_packed.hpp"

#include <algorithm>

#include "ops/launch.hpp"

namespace vkt::detail {

namespace {

constexpr uint64_t kWindowFloats = kUniformWindowBytes / 4;
// A window starts on 16 bytes: up to 3 floats before its first plane.
constexpr uint64_t kPlaneFloats = kWindowFloats - 3;
constexpr uint32_t kPadGroup = 64;  // conv2d_pad.comp: an invocation a padded row

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

struct Push {
  uint32_t src_channels, src_h, src_w, dst_channels, dst_h, dst_w, gemm_k;
  uint32_t stride_h, stride_w, dilation_h, dilation_w;
  uint32_t u_windows, c0, image0, src_start, planes_per_window, qw;
};

int64_t quads_per_row(const PackedConvPass& p) {
  return (p.dst_w + 3) / 4;
}

// Positions a lane in scalar mode: of the counts in (TN/2, TN], the one that pads a plane least
// (196 = 14²: 5 positions a lane, 200 computed, where 8 would compute 256), the larger on ties.
uint32_t scalar_columns(const PackedConvPass& p, uint32_t lanes, uint32_t columns) {
  const uint64_t plane = uint64_t(p.dst_h * p.dst_w);
  uint32_t tn = columns;
  for (uint32_t c = columns; c > columns / 2 && c > 0; --c)
    if (ceil_div(plane, lanes * c) * c < ceil_div(plane, lanes * tn) * tn) tn = c;
  return tn;
}
// Position tiles (workgroups along x) of a plane: TN positions a lane, or TN/4 quads of a row.
uint64_t position_tiles(const PackedConvPass& p, uint32_t lanes, uint32_t tn, bool quad) {
  return quad ? ceil_div(uint64_t(p.dst_h * quads_per_row(p)), uint64_t(lanes) * (tn / 4))
              : ceil_div(uint64_t(p.dst_h * p.dst_w), uint64_t(lanes) * tn);
}

// Whether conv2d_packed.comp reads the pass in quads (four consecutive columns a lane, aligned
// vec4 loads): unit stride and dilation along rows, TN a multiple of 4, and no more than 4/3
// the positions the scalar mode computes. A computed position costs about 0.75x in quads, but
// rows padded to whole quads waste positions (docs/performance-notes.md, Change 18: 28x28
// planes, 832 against 784, run 7-15% faster; 14x14 planes, 256 against 200, 0-7%; a plane 5
// wide, 8 against 5, would be slower).
bool quads(const PackedConvPass& p, uint32_t lanes, uint32_t columns) {
  if (p.stride_w != 1 || p.dilation_w != 1 || columns % 4 != 0) return false;
  const uint32_t tn = scalar_columns(p, lanes, columns);
  const uint64_t quad_positions = position_tiles(p, lanes, columns, true) * lanes * columns;
  const uint64_t scalar_positions = position_tiles(p, lanes, tn, false) * lanes * tn;
  return 3 * quad_positions <= 4 * scalar_positions;
}

// conv2d_packed.comp's STORE4 for a pass read in quads or not (the result's alignment aside).
bool whole_quad_rows(const PackedConvPass& p, bool quad) {
  return quad && p.dst_w % 4 == 0;
}

// The padded source conv2d_packed.comp gathers from: its top and left padding (backward:
// dilation·(kernel - 1) - pad) and the rows and columns its taps reach; with `quad_rows`, rows
// of whole vec4s that hold every quad's V loads (shaders/conv2d_packed.comp), so planes start
// on 16 bytes.
struct Padding {
  int64_t top, left, h, w;
  bool none(const PackedConvPass& p) const {
    return top == 0 && left == 0 && h == p.src_h && w == p.src_w;
  }
};
Padding padding(const PackedConvPass& p, bool quad_rows) {
  const int64_t span_h = p.dilation_h * (p.kernel_h - 1), span_w = p.dilation_w * (p.kernel_w - 1);
  Padding pad{p.mode == 0 ? p.pad_h : span_h - p.pad_h, p.mode == 0 ? p.pad_w : span_w - p.pad_w,
              (p.dst_h - 1) * p.stride_h + span_h + 1, (p.dst_w - 1) * p.stride_w + span_w + 1};
  if (quad_rows) {
    const int64_t v = (p.kernel_w + 6) / 4;  // shaders/conv2d_packed.comp: V
    pad.w = std::max((pad.w + 3) / 4 * 4, 4 * (quads_per_row(p) + v - 1));
  }
  return pad;
}

uint64_t gemm_k(const PackedConvPass& p) {
  return uint64_t(p.src_channels * p.kernel_h * p.kernel_w);
}
// How conv2d_packed.comp runs a pass with a tile of `columns`: quads or scalar positions (TN a
// lane), the padded source, and its whole planes a window (quad planes start on 16 bytes).
struct Layout {
  bool quad;
  uint32_t tn;
  Padding pad;
  uint64_t planes_per_window;
};
Layout layout(const PackedConvPass& p, uint32_t lanes, uint32_t columns) {
  const bool quad = quads(p, lanes, columns);
  const Padding pad = padding(p, quad);
  return {quad, quad ? columns : scalar_columns(p, lanes, columns), pad,
          (quad ? kWindowFloats : kPlaneFloats) / uint64_t(pad.h * pad.w)};
}
bool aligned(const Tensor& t) {
  return (t.allocation()->offset + t.byte_offset()) % 16 == 0;
}

// The source, zero-padded to `pad` (the source itself where that pads nothing). On CPU devices,
// padded rows of whole fours, the source read through uniform-buffer windows (conv2d_pad.comp's
// VKT_WINDOWS): 2-4x faster there (docs/performance-notes.md, Change 38).
Tensor padded_source(const PackedConvPass& p, const Tensor& source, const Padding& pad) {
  if (pad.none(p)) return source;
  const uint64_t planes = uint64_t(p.batch * p.src_channels);
  const uint64_t padded_plane = uint64_t(pad.h * pad.w), src_plane = uint64_t(p.src_h * p.src_w);
  Tensor padded = Tensor::empty(source.device(), {int64_t(planes * padded_plane)});
  struct {
    uint32_t planes, src_h, src_w, padded_h, padded_w;
    int32_t top, left;
    uint32_t per_window = 0, plane0 = 0;
  } push{uint32_t(planes), uint32_t(p.src_h), uint32_t(p.src_w), uint32_t(pad.h),
         uint32_t(pad.w),  int32_t(pad.top),  int32_t(pad.left)};
  const Device& device = source.device();
  if (cpu_device(device) && pad.w % 4 == 0 && planes * src_plane < (uint64_t(1) << 31) &&
      aligned(source) && uniform_windows_available(device, kDispatchWindows)) {
    const Tensor reads[] = {source};
    const PlaneWindows plan = plane_windows(reads, planes, src_plane);
    if (plan.per_window > 0) {
      VulkanScheduler& scheduler = *device.shared_state()->scheduler;
      push.per_window = uint32_t(plan.per_window);
      for (const PlaneDispatch& d : plan.dispatches) {
        push.plane0 = uint32_t(d.plane0);
        const Arg args[] = {in(source), out(padded.narrow(int64_t(d.plane0 * padded_plane),
                                                          int64_t(d.count * padded_plane)))};
        scheduler.dispatch_windows(Kernel{"conv2d_pad_windows", {kPlaneWindowGroup}}, args,
                                   d.windows, &push, sizeof(push), d.grid);
      }
      return padded;
    }
  }
  scheduler_of(source).dispatch(Kernel{"conv2d_pad", {kPadGroup}}, {in(source), out(padded)}, push,
                                grid_1d(planes * uint64_t(pad.h), kPadGroup));
  return padded;
}

// conv2d_wgrad_packed.comp's CHANNEL_LANES tile for few weight columns: all of them by SG·TN
// channels, TN the most of 4, 2, 1 whose channels' planes fit a window; 0 if none does.
uint32_t channel_lanes_columns(const PackedConvPass& p, uint32_t lanes) {
  const uint64_t plane = uint64_t(p.dst_h * p.dst_w);
  for (uint32_t tn = 4; tn >= 1; tn /= 2)
    if (std::min<uint64_t>(uint64_t(p.dst_channels), lanes * tn) * plane <= kPlaneFloats) return tn;
  return 0;
}

}  // namespace

bool packed_conv2d_stores_quads(const PackedConvPass& p, uint32_t lanes) {
  return p.groups == 1 && whole_quad_rows(p, quads(p, lanes, kPackedConvColumns));
}

bool packed_conv2d_fits(const PackedConvPass& p, const Tensor& source, const Tensor& weight,
                        const KernelChoice& tile) {
  if (p.groups != 1 || (p.mode == 1 && (p.stride_h != 1 || p.stride_w != 1))) return false;
  const Layout l = layout(p, source.device().info().subgroup_size, tile.columns);
  const Padding& pad = l.pad;
  if (pad.top < 0 || pad.left < 0) return false;  // backward with padding past the kernel's span
  if (tile.rows % 4 != 0 || uint64_t(tile.rows) * gemm_k(p) > kWindowFloats) return false;
  const uint64_t ppw = l.planes_per_window;
  // One channel tile's window leaves the rest for the planes of at least one image; float
  // indices stay far inside 32 bits.
  return ppw > 0 && uint64_t(p.src_channels) <= (kDispatchWindows - 1) * ppw &&
         uint64_t(p.batch * p.src_channels * pad.h * pad.w) < (uint64_t(1) << 31) &&
         aligned(source) && aligned(weight);
}

void packed_conv2d(const PackedConvPass& p, const Tensor& source, const Tensor& weight,
                   const Tensor& result, const Tensor& bias, const KernelChoice& tile) {
  VKT_REQUIRE(packed_conv2d_fits(p, source, weight, tile), "conv2d",
              "internal: the packed kernel cannot run this pass");
  VulkanScheduler& scheduler = *source.device().shared_state()->scheduler;
  const uint32_t lanes = source.device().info().subgroup_size;
  const uint64_t taps = uint64_t(p.kernel_h * p.kernel_w), k = gemm_k(p);
  const uint64_t tm = tile.rows, c_tiles = ceil_div(uint64_t(p.dst_channels), tm);
  // The weight as k-major tiles of TM result channels (backward-data: of Wᵀ).
  Tensor weight_tiles = Tensor::empty(source.device(), {int64_t(c_tiles * k * tm)});
  {
    struct {
      uint32_t count, channels, gemm_k, tm, taps, mode;
    } push{uint32_t(c_tiles * k * tm),
           uint32_t(p.dst_channels),
           uint32_t(k),
           uint32_t(tm),
           uint32_t(taps),
           p.mode};
    scheduler_of(source).dispatch(Kernel{"conv2d_weight_pack", {kElementwiseGroup}},
                                  {in(weight), out(weight_tiles)}, push, grid_1d(push.count));
  }

  const Layout l = layout(p, lanes, tile.columns);
  const Tensor padded = padded_source(p, source, l.pad);
  const uint64_t plane = uint64_t(l.pad.h * l.pad.w);
  const uint64_t ppw = l.planes_per_window, channels = uint64_t(p.src_channels);
  // The block: channel tiles (a window each) by images, the fewest dispatches that fit.
  uint64_t block_c = 1, block_n = 1, best = UINT64_MAX;
  for (uint64_t bc = 1; bc < kDispatchWindows && bc <= c_tiles; ++bc) {
    uint64_t bn = std::min<uint64_t>(uint64_t(p.batch), (kDispatchWindows - bc) * ppw / channels);
    if (bn == 0) break;
    uint64_t dispatches = ceil_div(c_tiles, bc) * ceil_div(uint64_t(p.batch), bn);
    if (dispatches < best) block_c = bc, block_n = bn, best = dispatches;
  }
  const uint64_t tiles_x = position_tiles(p, lanes, l.tn, l.quad);
  const uint64_t qw = uint64_t(quads_per_row(p));
  VKT_REQUIRE(tiles_x <= source.device().info().max_workgroup_count[0], "conv2d",
              "internal: " + std::to_string(tiles_x) + " position tiles exceed the grid");
  const Kernel kernel{
      "conv2d_packed",
      {lanes, tile.rows, l.tn, p.mode, bias.defined(), uint32_t(p.kernel_h), uint32_t(p.kernel_w),
       l.quad, whole_quad_rows(p, l.quad) && aligned(result)}};
  for (uint64_t t0 = 0; t0 < c_tiles; t0 += block_c) {
    const uint64_t tiles = std::min(block_c, c_tiles - t0);
    for (uint64_t n0 = 0; n0 < uint64_t(p.batch); n0 += block_n) {
      const uint64_t images = std::min(block_n, uint64_t(p.batch) - n0);
      UniformWindows windows;
      for (uint64_t t = 0; t < tiles; ++t) windows.push_back({weight_tiles, (t0 + t) * tm * k * 4});
      const uint32_t u_windows = uint32_t(windows.size());
      const uint64_t first_plane = n0 * channels;
      for (uint64_t w = 0; w < ceil_div(images * channels, ppw); ++w) {
        uint64_t start = (first_plane + w * ppw) * plane;
        windows.push_back({padded, start / 4 * 16});
      }
      // The shader declares all kDispatchWindows; the unused ones repeat the last.
      while (windows.size() < kDispatchWindows) windows.push_back(windows.back());
      Push push{uint32_t(p.src_channels),
                uint32_t(l.pad.h),
                uint32_t(l.pad.w),
                uint32_t(p.dst_channels),
                uint32_t(p.dst_h),
                uint32_t(p.dst_w),
                uint32_t(k),
                uint32_t(p.stride_h),
                uint32_t(p.stride_w),
                uint32_t(p.dilation_h),
                uint32_t(p.dilation_w),
                u_windows,
                uint32_t(t0 * tm),
                uint32_t(n0),
                uint32_t(first_plane * plane),
                uint32_t(ppw),
                uint32_t(qw)};
      const Arg args[] = {out(result), in(bias.defined() ? bias : source)};
      scheduler.dispatch_windows(kernel, args, windows, &push, sizeof(push),
                                 {uint32_t(tiles_x), uint32_t(tiles), uint32_t(images)});
    }
  }
}

bool packed_conv2d_wgrad_channel_lanes(const PackedConvPass& p, uint32_t lanes) {
  const int64_t columns = p.src_channels * p.kernel_h * p.kernel_w;
  return columns < kChannelLanesBelow && p.dst_channels >= columns &&
         channel_lanes_columns(p, lanes) > 0;
}

bool packed_conv2d_wgrad_fits(const PackedConvPass& p, const Tensor& dy, const Tensor& x) {
  const Padding pad = padding(p, false);
  const uint64_t x_image = uint64_t(p.src_channels * pad.h * pad.w);
  const uint64_t dy_image = uint64_t(p.dst_channels * p.dst_h * p.dst_w);
  const bool dy_fits = dy_image <= kPlaneFloats ||
                       packed_conv2d_wgrad_channel_lanes(p, x.device().info().subgroup_size);
  return p.groups == 1 && x_image <= kPlaneFloats && dy_fits &&
         uint64_t(p.batch) * std::max(x_image, dy_image) < (uint64_t(1) << 31) && aligned(dy) &&
         aligned(x);
}

void packed_conv2d_wgrad(const PackedConvPass& p, const Tensor& dy, const Tensor& x,
                         const Tensor& result, const KernelChoice& tile, bool split,
                         bool accumulate, uint64_t split_positions) {
  VKT_REQUIRE(packed_conv2d_wgrad_fits(p, dy, x), "conv2d",
              "internal: the packed kernel cannot run this backward-weight pass");
  VulkanScheduler& scheduler = *x.device().shared_state()->scheduler;
  const uint32_t lanes = x.device().info().subgroup_size;
  const Padding pad = padding(p, false);
  const Tensor padded = padded_source(p, x, pad);
  const uint64_t plane = uint64_t(p.dst_h * p.dst_w), positions = uint64_t(p.batch) * plane;
  const uint64_t x_image = uint64_t(p.src_channels * pad.h * pad.w);
  const uint64_t dy_image = uint64_t(p.dst_channels) * plane;
  const uint64_t gemm_m = uint64_t(p.src_channels * p.kernel_h * p.kernel_w);
  const uint64_t weights = gemm_m * uint64_t(p.dst_channels);
  // CHANNEL_LANES: one dispatch row per SG·TN channels, every weight column in one workgroup.
  const bool channel_lanes = packed_conv2d_wgrad_channel_lanes(p, lanes);
  const uint32_t tm = channel_lanes ? uint32_t(gemm_m) : tile.rows;
  const uint32_t tn = channel_lanes ? channel_lanes_columns(p, lanes) : tile.columns;
  const uint64_t channels_per_dispatch =
      channel_lanes ? uint64_t(lanes) * tn : uint64_t(p.dst_channels);
  const uint64_t images_per_dispatch = kDispatchWindows / 2, batch = uint64_t(p.batch);
  const bool chained = batch > images_per_dispatch;
  // Without splits, dispatches after the first continue from sums kept in a scratch tensor; with
  // them, the partials themselves hold the sums so far.
  Tensor partial = chained && !split ? Tensor::empty(x.device(), {int64_t(weights)}) : result;
  // SLIDE: channel lanes whose taps along a row are neighbours (unit stride and dilation).
  const bool slide = channel_lanes && p.stride_w == 1 && p.dilation_w == 1;
  const Kernel kernel{"conv2d_wgrad_packed",
                      {lanes, tm, tn, split, accumulate, uint32_t(p.kernel_h), uint32_t(p.kernel_w),
                       channel_lanes, slide}};
  const std::array<uint32_t, 2> tiles{
      channel_lanes ? 1u : uint32_t(ceil_div(gemm_m, uint64_t(lanes) * tn)),
      channel_lanes ? 1u : uint32_t(ceil_div(uint64_t(p.dst_channels), tm))};
  for (uint64_t c0 = 0; c0 < uint64_t(p.dst_channels); c0 += channels_per_dispatch) {
    for (uint64_t i0 = 0; i0 < batch; i0 += images_per_dispatch) {
      const uint64_t images = std::min(images_per_dispatch, batch - i0);
      UniformWindows windows;
      for (uint64_t i = i0; i < i0 + images; ++i) {
        windows.push_back({dy, (i * dy_image + c0 * plane) / 4 * 16});
        windows.push_back({padded, i * x_image / 4 * 16});
      }
      while (windows.size() < kDispatchWindows) windows.push_back(windows.back());
      const uint64_t split0 = i0 * plane / split_positions;
      const uint64_t split_end =
          ceil_div(std::min(positions, (i0 + images) * plane), split_positions);
      struct {
        uint32_t in_channels, src_h, src_w, out_channels, out_h, out_w, gemm_m;
        uint32_t stride_h, stride_w, dilation_h, dilation_w;
        uint32_t split_positions, positions, split0, image0, images, split_stride, channel0;
      } push{uint32_t(p.src_channels), uint32_t(pad.h),        uint32_t(pad.w),
             uint32_t(p.dst_channels), uint32_t(p.dst_h),      uint32_t(p.dst_w),
             uint32_t(gemm_m),         uint32_t(p.stride_h),   uint32_t(p.stride_w),
             uint32_t(p.dilation_h),   uint32_t(p.dilation_w), uint32_t(split_positions),
             uint32_t(positions),      uint32_t(split0),       uint32_t(i0),
             uint32_t(images),         uint32_t(weights),      uint32_t(c0)};
      const Access access = accumulate || chained || split ? Access::read_write : Access::write;
      const Arg args[] = {{result, access}, {partial, access}};
      scheduler.dispatch_windows(kernel, args, windows, &push, sizeof(push),
                                 {tiles[0], tiles[1], uint32_t(split_end - split0)});
    }
  }
}

}  // namespace vkt::detail
