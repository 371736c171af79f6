// conv2d: forward, backward-data, backward-weight and bias gradient against a float64 reference,
// over odd shapes, strides, padding, dilation, groups (incl. depthwise), 1x1 kernels, split-K and
// accumulating weight gradients; the reference backward is checked by finite differences first.
// Kernels exercised: conv2d (forward and backward-data), conv2d_wgrad with and without the
// split-K path, conv2d_split_sum, conv2d_bias_grad, the register-tiled conv2d_subgroup and
// conv2d_wgrad_subgroup, and conv2d_packed (scalar and quads) / conv2d_wgrad_packed with
// conv2d_pad and conv2d_weight_pack (every forward and backward case runs through each kernel of
// kGemmKernels and must match the tiled one bit for bit; packed requests the pass cannot take run
// subgroup, and packed_paths checks which passes take it).
#include "conformance.hpp"
#include "gradcheck.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// ‖GPU − ref‖ / ‖ref‖: float32 fma chains over K = Cin/g·kH·kW (forward, dx: at most a few hundred
// terms here) or N·Ho·Wo (dweight, dbias: up to ~1000 terms, summed in split partials) with inputs
// in [-1, 1) stay near 1e-6; 1e-5 leaves room without hiding an indexing error (those give O(1)).
constexpr double kTolerance = 1e-5;

struct Problem {
  int64_t batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w;
  Conv2dParams params;
  bool bias = true;

  Shape x_shape() const { return {batch, in_channels, in_h, in_w}; }
  Shape w_shape() const { return {out_channels, in_channels / params.groups, kernel_h, kernel_w}; }
  int64_t out_h() const {
    return (in_h + 2 * params.pad_h - params.dilation_h * (kernel_h - 1) - 1) / params.stride_h + 1;
  }
  int64_t out_w() const {
    return (in_w + 2 * params.pad_w - params.dilation_w * (kernel_w - 1) - 1) / params.stride_w + 1;
  }
  Shape y_shape() const { return {batch, out_channels, out_h(), out_w()}; }
  std::string text() const {
    const Conv2dParams& p = params;
    return shapes({x_shape(), w_shape()}) + " stride (" + std::to_string(p.stride_h) + ", " +
           std::to_string(p.stride_w) + ") pad (" + std::to_string(p.pad_h) + ", " +
           std::to_string(p.pad_w) + ") dilation (" + std::to_string(p.dilation_h) + ", " +
           std::to_string(p.dilation_w) + ") groups " + std::to_string(p.groups) +
           (bias ? "" : " no bias");
  }
};

// Calls f(n, co, oh, ow, ci, kh, kw, x_index, w_index) for every product term x·w of the
// convolution whose input position lies inside the image: forward and backward share this walk.
template <class F>
void for_each_term(const Problem& pr, F&& f) {
  const Conv2dParams& p = pr.params;
  int64_t cin_g = pr.in_channels / p.groups, cout_g = pr.out_channels / p.groups;
  int64_t oh_n = pr.out_h(), ow_n = pr.out_w();
  for (int64_t n = 0; n < pr.batch; ++n)
    for (int64_t co = 0; co < pr.out_channels; ++co) {
      int64_t g = co / cout_g;
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          int64_t y_index = ((n * pr.out_channels + co) * oh_n + oh) * ow_n + ow;
          for (int64_t c = 0; c < cin_g; ++c)
            for (int64_t kh = 0; kh < pr.kernel_h; ++kh) {
              int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
              if (ih < 0 || ih >= pr.in_h) continue;
              for (int64_t kw = 0; kw < pr.kernel_w; ++kw) {
                int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                if (iw < 0 || iw >= pr.in_w) continue;
                int64_t ci = g * cin_g + c;
                size_t x_index = size_t(((n * pr.in_channels + ci) * pr.in_h + ih) * pr.in_w + iw);
                size_t w_index = size_t(((co * cin_g + c) * pr.kernel_h + kh) * pr.kernel_w + kw);
                f(size_t(y_index), size_t(co), x_index, w_index);
              }
            }
        }
    }
}

std::vector<double> reference_forward(const Problem& pr, const std::vector<double>& x,
                                      const std::vector<double>& w, const std::vector<double>& b) {
  std::vector<double> y(size_t(shape_numel(pr.y_shape())), 0.0);
  int64_t plane = pr.out_h() * pr.out_w();
  if (pr.bias)
    for (size_t i = 0; i < y.size(); ++i) y[i] = b[size_t(int64_t(i) / plane % pr.out_channels)];
  for_each_term(pr, [&](size_t yi, size_t, size_t xi, size_t wi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

struct Gradients {
  std::vector<double> dx, dw, db;
};

Gradients reference_backward(const Problem& pr, const std::vector<double>& dy,
                             const std::vector<double>& x, const std::vector<double>& w) {
  Gradients g{std::vector<double>(x.size(), 0.0), std::vector<double>(w.size(), 0.0),
              std::vector<double>(size_t(pr.out_channels), 0.0)};
  for_each_term(pr, [&](size_t yi, size_t, size_t xi, size_t wi) {
    g.dx[xi] += dy[yi] * w[wi];
    g.dw[wi] += dy[yi] * x[xi];
  });
  int64_t plane = pr.out_h() * pr.out_w();
  for (size_t i = 0; i < dy.size(); ++i)
    g.db[size_t(int64_t(i) / plane % pr.out_channels)] += dy[i];
  return g;
}

struct Inputs {
  std::vector<float> x, w, b;
};

Inputs random_inputs(Context& ctx, const Problem& pr) {
  return {ctx.uniform(size_t(shape_numel(pr.x_shape()))),
          ctx.uniform(size_t(shape_numel(pr.w_shape()))), ctx.uniform(size_t(pr.out_channels))};
}

std::string kernel_label(const std::string& label, const NamedKernel& k) {
  return label.empty() ? k.name : label + "_" + k.name;
}

// Through every kernel: each against the reference, and bit for bit against the tiled one.
void check_forward(Context& ctx, const std::string& label, const Problem& pr) {
  Inputs in = random_inputs(ctx, pr);
  Tensor x = ctx.upload(in.x, pr.x_shape()), w = ctx.upload(in.w, pr.w_shape());
  Tensor bias = pr.bias ? ctx.upload(in.b, {pr.out_channels}) : Tensor{};
  auto ref = reference_forward(pr, to_double(in.x), to_double(in.w), to_double(in.b));
  std::vector<float> tiled;
  for (const NamedKernel& kernel : kGemmKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    Conv2dParams params = pr.params;
    params.kernel = kernel.choice;
    Tensor y = ctx.poisoned(pr.y_shape());
    conv2d_forward(x, w, bias, params, y);
    std::vector<float> result = y.to_host();
    ctx.check(kernel_label(label, kernel), pr.text(), result, ref, kTolerance);
    if (tiled.empty())
      tiled = result;
    else
      ctx.check_equal(kernel_label(label, kernel) + "_bitwise_tiled", pr.text(), bits(result),
                      bits(tiled));
  }
}

void check_backward(Context& ctx, const std::string& label, const Problem& pr) {
  Inputs in = random_inputs(ctx, pr);
  std::vector<float> dy = ctx.uniform(size_t(shape_numel(pr.y_shape())));
  Tensor tdy = ctx.upload(dy, pr.y_shape()), x = ctx.upload(in.x, pr.x_shape());
  Tensor w = ctx.upload(in.w, pr.w_shape());
  Gradients ref = reference_backward(pr, to_double(dy), to_double(in.x), to_double(in.w));
  std::string prefix = label.empty() ? "" : label + "_";
  std::vector<float> tiled_dx, tiled_dw;
  for (const NamedKernel& kernel : kGemmKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    Conv2dParams params = pr.params;
    params.kernel = kernel.choice;
    Tensor dx = ctx.poisoned(pr.x_shape()), dw = ctx.poisoned(pr.w_shape());
    Tensor db = ctx.poisoned({pr.out_channels});
    conv2d_backward(tdy, x, w, params, dx, dw, db);
    std::vector<float> host_dx = dx.to_host(), host_dw = dw.to_host();
    std::string name = prefix + kernel.name;
    ctx.check(name + "_dx", pr.text(), host_dx, ref.dx, kTolerance);
    ctx.check(name + "_dweight", pr.text(), host_dw, ref.dw, kTolerance);
    ctx.check(name + "_dbias", pr.text(), db.to_host(), ref.db, kTolerance);
    if (tiled_dx.empty()) {
      tiled_dx = host_dx;
      tiled_dw = host_dw;
    } else {
      ctx.check_equal(name + "_dx_bitwise_tiled", pr.text(), bits(host_dx), bits(tiled_dx));
      ctx.check_equal(name + "_dweight_bitwise_tiled", pr.text(), bits(host_dw), bits(tiled_dw));
    }
  }
}

// Finite differences of L = Σ conv2d(x, w, b)·dy in x, w and b, against the reference backward.
void gradcheck(Context& ctx, const std::string& label, const Problem& pr) {
  Inputs in = random_inputs(ctx, pr);
  std::vector<double> x = to_double(in.x), w = to_double(in.w), b = to_double(in.b);
  std::vector<double> dy = to_double(ctx.uniform(size_t(shape_numel(pr.y_shape()))));
  Gradients g = reference_backward(pr, dy, x, w);
  check_gradient(
      ctx, label + "_dx",
      [&](const std::vector<double>& v) {
        return weighted_sum(reference_forward(pr, v, w, b), dy);
      },
      x, g.dx);
  check_gradient(
      ctx, label + "_dweight",
      [&](const std::vector<double>& v) {
        return weighted_sum(reference_forward(pr, x, v, b), dy);
      },
      w, g.dw);
  check_gradient(
      ctx, label + "_dbias",
      [&](const std::vector<double>& v) {
        return weighted_sum(reference_forward(pr, x, w, v), dy);
      },
      b, g.db);
}

// Shapes shared by the forward and backward cases.
const Problem kOdd{3, 5, 11, 9, 7, 3, 3, {.pad_h = 1, .pad_w = 1}};
const Problem kStridePad{2, 4, 13, 10,
                         9, 3, 5,  {.stride_h = 2, .stride_w = 3, .pad_h = 1, .pad_w = 2}};
const Problem kDilation{2, 3, 12, 11,
                        6, 3, 3,  {.pad_h = 2, .pad_w = 1, .dilation_h = 2, .dilation_w = 2}};
const Problem kGroups{2, 6, 9, 7, 9, 3, 3, {.pad_h = 1, .pad_w = 1, .groups = 3}};
const Problem kDepthwise{
    2, 8, 10, 9, 8, 3, 3, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 8}};
const Problem kDepthwiseMultiplier{1, 5, 8, 7, 10, 5, 5, {.pad_h = 2, .pad_w = 2, .groups = 5}};
const Problem kPointwise{1, 37, 5, 7, 70, 1, 1, {}};
const Problem kWide{2, 20, 6, 5, 130, 3, 3, {.pad_h = 1, .pad_w = 1}};  // several N and K tiles
const Problem kNoBias{1, 3, 7, 6, 4, 2, 4, {.stride_h = 2, .pad_w = 1}, false};
const Problem kOneByOneImage{3, 4, 1, 1, 5, 1, 1, {}};
// 17-32 channels take 128x32 tiles in all three passes (N = 24 forward and backward-weight, 20
// backward-data), over two ragged tiles of M = 144 positions.
const Problem kNarrow{2, 20, 9, 8, 24, 3, 3, {.pad_h = 1, .pad_w = 1}};
// GEMMs with M >= 512 and N >= 128 take the 128x128 tiles: forward and backward-data here...
const Problem kLargeTiles{1, 130, 24, 23, 136, 1, 1, {}};
// ... and backward-weight (M = 58·3·3 = 522, N = 130) here.
const Problem kLargeTilesWeight{1, 58, 6, 5, 130, 3, 3, {.pad_h = 1, .pad_w = 1}};

// The packed kernel's blocks (lib/ops/conv2d_packed.cpp): images over two dispatches, with source
// windows that start inside a plane (41 x 43 floats padded, so window starts round down); more
// channel tiles than windows; weight rows (200·9 floats) whose window holds 8 channels' but not
// 32 (packed_paths: a taller tile falls back to the subgroup kernel). With the default tile (TN
// 8) kImageBlocks (41 columns) and kLargeTiles (23) run in quads and kOdd, kWide and
// kChannelBlocks in scalar mode (lib/ops/conv2d_packed.cpp: quads()).
const Problem kImageBlocks{11, 13, 39, 41, 3, 3, 3, {.pad_h = 1, .pad_w = 1}};
const Problem kChannelBlocks{2, 3, 5, 6, 115, 3, 3, {.pad_h = 1, .pad_w = 1}};
const Problem kLongRows{1, 200, 5, 5, 9, 3, 3, {.pad_h = 1, .pad_w = 1}};
// Backward-weight over more images than one dispatch holds (7), without splits (few positions),
// and with splits of 144 positions that cross images and the dispatches' boundary.
const Problem kChainedWeight{9, 2, 3, 4, 3, 3, 3, {.pad_h = 1, .pad_w = 1}};
const Problem kChainedSplits{12, 3, 11, 13, 5, 3, 3, {.pad_h = 1, .pad_w = 1}};
// The padding through windows (CPU devices, quads): 1620 source planes of 150 floats, 109 a window
// (so every other window starts 2 floats into a vec4) and 14 windows a dispatch: two dispatches.
// Backward-data pads dy's 13 x 8 planes with 2 rows and columns on each side.
const Problem kPadWindows{60, 27, 15, 10, 2, 3, 3, {}};
// Backward-weight with channel lanes (9 weight columns, as the sample CNN's first layer): 35
// channels of 23 x 23 planes, 16 (two a lane on lavapipe) a window, so three dispatch rows of
// channels, the last partial, by two of images.
const Problem kChannelLanes{9, 1, 23, 23, 35, 3, 3, {.pad_h = 1, .pad_w = 1}};

}  // namespace

VKT_CASE("conv2d", "forward_odd") {
  check_forward(ctx, "", kOdd);
}
VKT_CASE("conv2d", "forward_stride_padding") {
  check_forward(ctx, "", kStridePad);
}
VKT_CASE("conv2d", "forward_dilation") {
  check_forward(ctx, "", kDilation);
}
VKT_CASE("conv2d", "forward_groups") {
  check_forward(ctx, "groups3", kGroups);
  check_forward(ctx, "depthwise", kDepthwise);
  check_forward(ctx, "depthwise_multiplier2", kDepthwiseMultiplier);
}
VKT_CASE("conv2d", "forward_1x1") {
  check_forward(ctx, "pointwise", kPointwise);
  check_forward(ctx, "1x1_image", kOneByOneImage);
}
VKT_CASE("conv2d", "forward_wide") {
  check_forward(ctx, "n_tiles", kWide);
  check_forward(ctx, "narrow_tiles", kNarrow);
  check_forward(ctx, "large_tiles", kLargeTiles);
}
VKT_CASE("conv2d", "forward_no_bias") {
  check_forward(ctx, "", kNoBias);
}

VKT_CASE("conv2d", "forward_allocating") {
  Problem pr = kStridePad;
  Inputs in = random_inputs(ctx, pr);
  Tensor y = conv2d(ctx.upload(in.x, pr.x_shape()), ctx.upload(in.w, pr.w_shape()),
                    ctx.upload(in.b, {pr.out_channels}), pr.params);
  ctx.check_that("shape", y.shape() == pr.y_shape(), 0, 0, shape_str(y.shape()));
  auto ref = reference_forward(pr, to_double(in.x), to_double(in.w), to_double(in.b));
  ctx.check("values", pr.text(), y.to_host(), ref, kTolerance);
}

VKT_CASE("conv2d", "gradcheck_reference") {
  gradcheck(
      ctx, "stride_pad_groups",
      {2, 4, 6, 5, 4, 3, 3, {.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 1, .groups = 2}});
  gradcheck(ctx, "dilation", {1, 2, 7, 6, 3, 2, 3, {.pad_h = 1, .dilation_h = 2, .dilation_w = 2}});
}

VKT_CASE("conv2d", "backward_odd") {
  check_backward(ctx, "", kOdd);
}
VKT_CASE("conv2d", "backward_stride_padding") {
  check_backward(ctx, "", kStridePad);
}
VKT_CASE("conv2d", "backward_dilation") {
  check_backward(ctx, "", kDilation);
}
VKT_CASE("conv2d", "backward_groups") {
  check_backward(ctx, "groups3", kGroups);
  check_backward(ctx, "depthwise", kDepthwise);
  check_backward(ctx, "depthwise_multiplier2", kDepthwiseMultiplier);
}
VKT_CASE("conv2d", "backward_1x1") {
  check_backward(ctx, "pointwise", kPointwise);
  check_backward(ctx, "1x1_image", kOneByOneImage);
}
VKT_CASE("conv2d", "backward_wide") {
  check_backward(ctx, "n_tiles", kWide);
  check_backward(ctx, "narrow_tiles", kNarrow);
  check_backward(ctx, "large_tiles", kLargeTiles);
  check_backward(ctx, "large_tiles_weight", kLargeTilesWeight);
}
VKT_CASE("conv2d", "backward_no_bias") {
  check_backward(ctx, "", kNoBias);
}

VKT_CASE("conv2d", "backward_accumulate") {
  // dweight += and dbias += twice, for a reduction split into partials (N·Ho·Wo large against the
  // tile grid) and for one that is not (N = 1, a small image).
  // With the default (on lavapipe the packed) kernel, also over more images than one dispatch,
  // and with channel lanes over several dispatch rows of channels.
  for (const Problem& pr :
       {Problem{4, 3, 12, 12, 5, 3, 3, {.pad_h = 1, .pad_w = 1}},
        Problem{1, 3, 6, 5, 5, 3, 3, {.pad_h = 1, .pad_w = 1}}, kChainedWeight, kChannelLanes}) {
    Inputs in = random_inputs(ctx, pr);
    std::vector<float> dy = ctx.uniform(size_t(shape_numel(pr.y_shape())));
    std::vector<float> w0 = ctx.uniform(in.w.size()), b0 = ctx.uniform(in.b.size());
    Tensor dw = ctx.upload(w0, pr.w_shape()), db = ctx.upload(b0, {pr.out_channels});
    Tensor tdy = ctx.upload(dy, pr.y_shape()), tx = ctx.upload(in.x, pr.x_shape());
    for (int step = 0; step < 2; ++step) conv2d_backward(tdy, tx, {}, pr.params, {}, dw, db, true);
    Gradients ref = reference_backward(pr, to_double(dy), to_double(in.x), to_double(in.w));
    for (size_t i = 0; i < ref.dw.size(); ++i) ref.dw[i] = w0[i] + 2 * ref.dw[i];
    for (size_t i = 0; i < ref.db.size(); ++i) ref.db[i] = b0[i] + 2 * ref.db[i];
    std::string label = "n" + std::to_string(pr.batch) + "_c" + std::to_string(pr.out_channels);
    ctx.check(label + "_dweight", pr.text(), dw.to_host(), ref.dw, kTolerance);
    ctx.check(label + "_dbias", pr.text(), db.to_host(), ref.db, kTolerance);
  }
}

VKT_CASE("conv2d", "backward_subsets") {
  // Only dx (x not passed), then only dweight (weight not passed): the skipped outputs stay NaN.
  Problem pr = kGroups;
  Inputs in = random_inputs(ctx, pr);
  std::vector<float> dy = ctx.uniform(size_t(shape_numel(pr.y_shape())));
  Tensor tdy = ctx.upload(dy, pr.y_shape());
  Tensor dx = ctx.poisoned(pr.x_shape()), dw = ctx.poisoned(pr.w_shape());
  conv2d_backward(tdy, {}, ctx.upload(in.w, pr.w_shape()), pr.params, dx, {}, {});
  conv2d_backward(tdy, ctx.upload(in.x, pr.x_shape()), {}, pr.params, {}, dw, {});
  Gradients ref = reference_backward(pr, to_double(dy), to_double(in.x), to_double(in.w));
  ctx.check("dx_only", pr.text(), dx.to_host(), ref.dx, kTolerance);
  ctx.check("dweight_only", pr.text(), dw.to_host(), ref.dw, kTolerance);
}

VKT_CASE("conv2d", "packed_paths") {
  check_forward(ctx, "image_blocks", kImageBlocks);
  check_backward(ctx, "image_blocks", kImageBlocks);
  check_forward(ctx, "channel_blocks", kChannelBlocks);
  check_forward(ctx, "long_rows", kLongRows);
  check_backward(ctx, "chained_weight", kChainedWeight);
  check_backward(ctx, "chained_splits", kChainedSplits);
  check_forward(ctx, "pad_windows", kPadWindows);
  check_backward(ctx, "pad_windows", kPadWindows);
  check_backward(ctx, "channel_lanes", kChannelLanes);
  if (!packed_matmul_available(ctx.device) || !ctx.device.info().timestamp_queries) return;
  // Which passes take it: forward and unit-stride backward-data of ungrouped convolutions whose
  // tile of weight rows fits a window; the others run conv2d_subgroup.
  auto packed_calls = [&](const Problem& pr, bool backward, KernelChoice kernel,
                          const char* shader = "conv2d_packed") {
    Profiler profiler(ctx.device);
    Conv2dParams params = pr.params;
    params.kernel = kernel;
    Tensor x = ctx.poisoned(pr.x_shape()), w = ctx.poisoned(pr.w_shape());
    if (backward)
      conv2d_backward(ctx.poisoned(pr.y_shape()), x, w, params, ctx.poisoned(pr.x_shape()),
                      ctx.poisoned(pr.w_shape()), {});
    else
      conv2d_forward(x, w, {}, params, ctx.poisoned(pr.y_shape()));
    uint64_t calls = 0;
    for (const KernelTime& k : profiler.kernels())
      if (k.name == shader) calls += k.calls;
    return calls;
  };
  const KernelChoice packed{KernelChoice::Kind::packed}, small{KernelChoice::Kind::packed, 1, 1};
  auto expect = [&](const char* label, uint64_t calls, uint64_t expected) {
    ctx.check_that(
        label, calls == expected, double(calls), double(expected),
        std::to_string(calls) + " packed dispatches, expected " + std::to_string(expected));
  };
  expect("forward", packed_calls(kOdd, false, packed), 1);
  expect("backward_data", packed_calls(kOdd, true, packed), 1);
  expect("image_blocks", packed_calls(kImageBlocks, false, packed), 2);
  expect("channel_blocks", packed_calls(kChannelBlocks, false, small), 2);
  expect("strided_forward", packed_calls(kStridePad, false, packed), 1);
  expect("strided_backward_falls_back", packed_calls(kStridePad, true, packed), 0);
  expect("groups_fall_back", packed_calls(kGroups, false, packed), 0);
  // kLongRows' weight rows, 200·9 floats: a tile of 4 subgroups of channels exceeds a window
  // (16384 floats), the default tile (one subgroup, 8 on lavapipe) fits where 8 rows do.
  const uint32_t lanes = ctx.device.info().subgroup_size;
  const KernelChoice tall{KernelChoice::Kind::packed, 4 * lanes, 4};
  expect("long_rows_fall_back", packed_calls(kLongRows, false, tall), 0);
  expect("long_rows_default_tile", packed_calls(kLongRows, false, packed),
         lanes * 200 * 9 <= 16384 ? 1 : 0);
  // Backward-weight: a dispatch per 7 images (dy and padded x a window each); grouped convolutions
  // and images whose padded x exceeds a window (13 x 41 x 43 floats) fall back.
  const char* wgrad = "conv2d_wgrad_packed";
  expect("weight", packed_calls(kOdd, true, packed, wgrad), 1);
  expect("weight_chained_splits", packed_calls(kChainedSplits, true, packed, wgrad), 2);
  expect("weight_large_image_falls_back", packed_calls(kImageBlocks, true, packed, wgrad), 0);
  expect("weight_chained", packed_calls(kChainedWeight, true, packed, wgrad), 2);
  expect("weight_strided", packed_calls(kStridePad, true, packed, wgrad), 1);
  expect("weight_groups_fall_back", packed_calls(kGroups, true, packed, wgrad), 0);
  // Channel lanes (fewer than 32 weight columns): a dispatch per 7 images by lanes·TN channels,
  // TN the most of 4, 2, 1 whose 23 x 23 planes fit a window (2 on lavapipe); the automatic
  // choice too on CPU devices (elsewhere it is the tiled kernel).
  uint64_t tn = 4;
  while (tn > 1 && std::min<uint64_t>(35, lanes * tn) * 529 > 16381) tn /= 2;
  const uint64_t channel_lanes = 2 * ((35 + lanes * tn - 1) / (lanes * tn));
  expect("weight_channel_lanes", packed_calls(kChannelLanes, true, packed, wgrad), channel_lanes);
  if (ctx.device.info().type == "cpu")
    expect("weight_channel_lanes_automatic", packed_calls(kChannelLanes, true, {}, wgrad),
           channel_lanes);
  if (ctx.device.info().type == "cpu")
    expect("pad_windows", packed_calls(kPadWindows, false, packed, "conv2d_pad_windows"), 2);
}

VKT_CASE("conv2d", "bad_arguments") {
  Tensor x = ctx.poisoned({2, 6, 9, 9});
  ctx.check_error("channels",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 5, 3, 3}));
                  },
                  {"conv2d", "(4, 5, 3, 3)", "(2, 6, 9, 9)"});
  ctx.check_error("groups_divide",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 2, 3, 3}), {}, {.groups = 4});
                  },
                  {"conv2d", "groups 4", "(2, 6, 9, 9)"});
  ctx.check_error("groups_out_channels",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 2, 3, 3}), {}, {.groups = 3});
                  },
                  {"conv2d", "groups 3", "(4, 2, 3, 3)"});
  ctx.check_error("output_size",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 6, 10, 3}));
                  },
                  {"conv2d", "not positive", "(4, 6, 10, 3)"});
  ctx.check_error("output_size_dilation",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 6, 3, 3}), {}, {.dilation_h = 5});
                  },
                  {"conv2d", "not positive", "(2, 6, 9, 9)"});
  ctx.check_error("wrong_y",
                  [&] {
                    conv2d_forward(x, ctx.poisoned({4, 6, 3, 3}), {}, {.stride_h = 2},
                                   ctx.poisoned({2, 4, 7, 7}));
                  },
                  {"conv2d", "(2, 4, 7, 7)", "expected (2, 4, 4, 7)"});
  ctx.check_error("bias",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 6, 3, 3}), ctx.poisoned({5}));
                  },
                  {"conv2d", "bias", "(5,)", "expected (4,)"});
  ctx.check_error("rank",
                  [&] {
                    (void)conv2d(ctx.poisoned({6, 9, 9}), ctx.poisoned({4, 6, 3, 3}));
                  },
                  {"conv2d", "4-D", "(6, 9, 9)"});
  ctx.check_error("params",
                  [&] {
                    (void)conv2d(x, ctx.poisoned({4, 6, 3, 3}), {}, {.stride_h = 0});
                  },
                  {"conv2d", "stride (0, 1)"});
  ctx.check_error("backward_dy",
                  [&] {
                    conv2d_backward(ctx.poisoned({2, 4, 6, 7}), x, ctx.poisoned({4, 6, 3, 3}), {},
                                    ctx.poisoned({2, 6, 9, 9}), {}, {});
                  },
                  {"conv2d", "dy", "(2, 4, 6, 7)", "expected (2, 4, 7, 7)"});
  ctx.check_error("backward_dweight",
                  [&] {
                    conv2d_backward(ctx.poisoned({2, 4, 7, 7}), x, ctx.poisoned({4, 6, 3, 3}), {},
                                    {}, ctx.poisoned({4, 6, 3, 2}), {});
                  },
                  {"conv2d", "dweight", "(4, 6, 3, 2)", "expected (4, 6, 3, 3)"});
}
