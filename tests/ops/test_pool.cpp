// max_pool2d, avg_pool2d and global_avg_pool2d: forward and backward against float64 references on
// odd sizes, overlapping windows, padding, non-square windows and default strides; the reference
// backward is checked by finite differences first (max pooling on inputs kept away from ties).
// Kernels exercised: max_pool2d, max_pool2d_backward (and their windowed variants on CPU devices),
// avg_pool2d (both modes), avg_pool2d_global.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "conformance.hpp"
#include "gradcheck.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// Max pooling selects input values: the forward is exact. Its backward adds at most a handful of dy
// values per input (overlapping windows) in float32.
constexpr double kMaxForwardTolerance = 0;
constexpr double kMaxBackwardTolerance = 1e-6;
// Averages of at most k·k terms (H·W, tree-summed, for the global pool) in float32: rounding stays
// near 1e-7 relative.
constexpr double kAvgTolerance = 1e-6;

struct Problem {
  int64_t batch, channels, in_h, in_w;
  Pool2dParams params;

  Pool2dParams p() const {
    Pool2dParams r = params;
    if (r.stride_h == 0) r.stride_h = r.kernel_h;
    if (r.stride_w == 0) r.stride_w = r.kernel_w;
    return r;
  }
  int64_t planes() const { return batch * channels; }
  int64_t out_h() const { return (in_h + 2 * p().pad_h - p().kernel_h) / p().stride_h + 1; }
  int64_t out_w() const { return (in_w + 2 * p().pad_w - p().kernel_w) / p().stride_w + 1; }
  Shape x_shape() const { return {batch, channels, in_h, in_w}; }
  Shape y_shape() const { return {batch, channels, out_h(), out_w()}; }
  std::string text() const {
    Pool2dParams r = p();
    return shape_str(x_shape()) + " kernel (" + std::to_string(r.kernel_h) + ", " +
           std::to_string(r.kernel_w) + ") stride (" + std::to_string(r.stride_h) + ", " +
           std::to_string(r.stride_w) + ") pad (" + std::to_string(r.pad_h) + ", " +
           std::to_string(r.pad_w) + ")" + (r.count_include_pad ? "" : " exclude pad");
  }
};

// Calls f(plane, oh, ow, h_begin, h_end, w_begin, w_end, divisor) for every window, clipped to the
// image; the divisor is PyTorch's (padded window or in-image count).
template <class F>
void for_each_window(const Problem& pr, F&& f) {
  Pool2dParams p = pr.p();
  for (int64_t plane = 0; plane < pr.planes(); ++plane)
    for (int64_t oh = 0; oh < pr.out_h(); ++oh)
      for (int64_t ow = 0; ow < pr.out_w(); ++ow) {
        int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
        int64_t h1 = std::min(h0 + p.kernel_h, pr.in_h + p.pad_h);
        int64_t w1 = std::min(w0 + p.kernel_w, pr.in_w + p.pad_w);
        int64_t padded = (h1 - h0) * (w1 - w0);
        h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
        h1 = std::min(h1, pr.in_h), w1 = std::min(w1, pr.in_w);
        double divisor = double(p.count_include_pad ? padded : (h1 - h0) * (w1 - w0));
        f(plane, oh, ow, h0, h1, w0, w1, divisor);
      }
}

struct MaxReference {
  std::vector<double> y;
  std::vector<int32_t> indices;
};

MaxReference max_forward(const Problem& pr, const std::vector<double>& x) {
  MaxReference r;
  int64_t plane_size = pr.in_h * pr.in_w;
  for_each_window(pr, [&](int64_t plane, int64_t, int64_t, int64_t h0, int64_t h1, int64_t w0,
                          int64_t w1, double) {
    double best = -INFINITY;
    int64_t best_index = h0 * pr.in_w + w0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        double v = x[size_t(plane * plane_size + h * pr.in_w + w)];
        if (v > best) best = v, best_index = h * pr.in_w + w;
      }
    r.y.push_back(best);
    r.indices.push_back(int32_t(best_index));
  });
  return r;
}

std::vector<double> max_backward(const Problem& pr, const std::vector<double>& dy,
                                 const std::vector<int32_t>& indices) {
  std::vector<double> dx(size_t(shape_numel(pr.x_shape())), 0.0);
  int64_t out_plane = pr.out_h() * pr.out_w(), in_plane = pr.in_h * pr.in_w;
  for (size_t o = 0; o < dy.size(); ++o)
    dx[size_t(int64_t(o) / out_plane * in_plane + indices[o])] += dy[o];
  return dx;
}

std::vector<double> avg_forward(const Problem& pr, const std::vector<double>& x) {
  std::vector<double> y;
  int64_t plane_size = pr.in_h * pr.in_w;
  for_each_window(pr, [&](int64_t plane, int64_t, int64_t, int64_t h0, int64_t h1, int64_t w0,
                          int64_t w1, double divisor) {
    double sum = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += x[size_t(plane * plane_size + h * pr.in_w + w)];
    y.push_back(sum / divisor);
  });
  return y;
}

std::vector<double> avg_backward(const Problem& pr, const std::vector<double>& dy) {
  std::vector<double> dx(size_t(shape_numel(pr.x_shape())), 0.0);
  int64_t plane_size = pr.in_h * pr.in_w;
  size_t o = 0;
  for_each_window(pr, [&](int64_t plane, int64_t, int64_t, int64_t h0, int64_t h1, int64_t w0,
                          int64_t w1, double divisor) {
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w)
        dx[size_t(plane * plane_size + h * pr.in_w + w)] += dy[o] / divisor;
    ++o;
  });
  return dx;
}

std::vector<uint32_t> as_u32(const std::vector<int32_t>& v) {
  return {v.begin(), v.end()};
}

// Distinct values at least 1e-2 apart in random order: central differences (h = 1e-5) never move
// an argmax, so the max pool's reference gradient is checked away from ties.
std::vector<double> separated(Context& ctx, size_t n) {
  std::vector<double> x(n);
  std::iota(x.begin(), x.end(), 0.0);
  std::shuffle(x.begin(), x.end(), ctx.rng);
  for (double& v : x) v = v * 1e-2 - 0.5 * double(n) * 1e-2;
  return x;
}

void check_max(Context& ctx, const std::string& label, const Problem& pr, float lo = -1,
               float hi = 1) {
  std::vector<float> x = ctx.uniform(size_t(shape_numel(pr.x_shape())), lo, hi);
  std::vector<float> dy = ctx.uniform(size_t(shape_numel(pr.y_shape())));
  Tensor y = ctx.poisoned(pr.y_shape()), dx = ctx.poisoned(pr.x_shape());
  Tensor indices = Tensor::empty(ctx.device, pr.y_shape(), DType::i32);
  indices.fill(-7.0f);  // poisoned: an index no window can produce
  max_pool2d_forward(ctx.upload(x, pr.x_shape()), pr.params, y, indices);
  MaxReference ref = max_forward(pr, to_double(x));
  std::string prefix = label.empty() ? "" : label + "_";
  ctx.check(prefix + "y", pr.text(), y.to_host(), ref.y, kMaxForwardTolerance);
  std::vector<int32_t> got = indices.to_host_i32();
  ctx.check_equal(prefix + "indices", pr.text(), as_u32(got), as_u32(ref.indices));
  // The backward routes through the reference indices, so it is checked on its own.
  max_pool2d_backward(ctx.upload(dy, pr.y_shape()),
                      Tensor::from_host(ctx.device, ref.indices, pr.y_shape()), pr.params, dx);
  ctx.check(prefix + "dx", pr.text(), dx.to_host(), max_backward(pr, to_double(dy), ref.indices),
            kMaxBackwardTolerance);
}

void check_avg(Context& ctx, const std::string& label, const Problem& pr) {
  std::vector<float> x = ctx.uniform(size_t(shape_numel(pr.x_shape())));
  std::vector<float> dy = ctx.uniform(size_t(shape_numel(pr.y_shape())));
  Tensor y = ctx.poisoned(pr.y_shape()), dx = ctx.poisoned(pr.x_shape());
  avg_pool2d_forward(ctx.upload(x, pr.x_shape()), pr.params, y);
  avg_pool2d_backward(ctx.upload(dy, pr.y_shape()), pr.params, dx);
  std::string prefix = label.empty() ? "" : label + "_";
  ctx.check(prefix + "y", pr.text(), y.to_host(), avg_forward(pr, to_double(x)), kAvgTolerance);
  ctx.check(prefix + "dx", pr.text(), dx.to_host(), avg_backward(pr, to_double(dy)), kAvgTolerance);
}

// Shapes shared by the max and average cases.
const Problem kOverlap{
    2,
    3,
    11,
    9,
    {.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}};
const Problem kDefaultStride{1, 5, 7, 9, pool2d_params(2)};  // floor: the last row and column drop
const Problem kNonSquare{
    3,
    2,
    8,
    13,
    {.kernel_h = 3, .kernel_w = 2, .stride_h = 1, .stride_w = 2, .pad_h = 1, .pad_w = 0}};
const Problem kStrideOne{2, 1, 6, 5, pool2d_params(3, 1, 1)};  // each input under up to 9 windows
const Problem kWholePlane{3, 4, 5, 5, pool2d_params(5)};

}  // namespace

VKT_CASE("max_pool2d", "overlapping_k3_s2_pad1") {
  check_max(ctx, "", kOverlap);
}
VKT_CASE("max_pool2d", "default_stride") {
  check_max(ctx, "", kDefaultStride);
}
VKT_CASE("max_pool2d", "non_square") {
  check_max(ctx, "", kNonSquare);
}
VKT_CASE("max_pool2d", "stride1_pad1") {
  check_max(ctx, "", kStrideOne);
}
VKT_CASE("max_pool2d", "whole_plane") {
  check_max(ctx, "", kWholePlane);
}
// Windows that do not overlap own cells of inputs in the backward (max_pool2d_backward's CELLS):
// gaps between windows (stride 3 > kernel 2) and padding (the first cell starts at 0, the last
// runs to the edge) still get their zeros.
VKT_CASE("max_pool2d", "gaps_stride3") {
  check_max(ctx, "",
            Problem{2, 3, 10, 11, {.kernel_h = 2, .kernel_w = 2, .stride_h = 3, .stride_w = 3}});
}
VKT_CASE("max_pool2d", "cells_pad1") {
  check_max(ctx, "", Problem{2, 2, 7, 8, pool2d_params(2, 2, 1)});
}
// Many tiny planes: 8 a workgroup on CPUs (75,000 workgroups: more than y holds, so they fold
// into z), 32 on GPUs.
VKT_CASE("max_pool2d", "many_planes") {
  check_max(ctx, "", Problem{1, 600000, 2, 3, pool2d_params(2)});
}
// The sample CNN's 2x2 pools. On CPU devices planes of whole fours are read through windows
// (max_pool2d_windows, max_pool2d_backward_windows), output planes of whole fours are stored four
// at a time (OUT4), and 2-wide unpadded windows along rows of whole fours write their cells as
// vec4 pairs (PAIRS). 623 planes of 28x28: three windowed forward dispatches (280 planes each, the
// last 63) and two backward ones (580, 43); 14x14 to 7x7: a windowed forward with scalar stores,
// a backward on storage buffers; 9x12: the last row of cells runs to the image's end; vertical
// padding with pairs; 132x132 planes (more than a window holds): OUT4 and PAIRS (both passes) on
// storage buffers.
VKT_CASE("max_pool2d", "cnn_pools_windows") {
  check_max(ctx, "28x28", Problem{7, 89, 28, 28, pool2d_params(2)});
  check_max(ctx, "14x14", Problem{3, 5, 14, 14, pool2d_params(2)});
  check_max(ctx, "9x12", Problem{2, 3, 9, 12, pool2d_params(2)});
  check_max(
      ctx, "pad_h",
      Problem{
          2, 3, 7, 8, {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2, .pad_h = 1}});
  check_max(ctx, "132x132", Problem{1, 2, 132, 132, pool2d_params(2)});
  // Planes that are not whole fours: the backward reads dy and indices planes of 49 floats (334 a
  // window, so windows start 0-3 floats into a vec4) over two dispatches of 2336 planes; the
  // forward reads x planes of 49 floats.
  check_max(ctx, "7x7_out", Problem{5, 480, 14, 14, pool2d_params(2)});
  check_max(ctx, "7x7_in", Problem{3, 800, 7, 7, pool2d_params(2)});
}
// Padding is −inf, not 0: with all inputs negative a padded window still returns an input.
VKT_CASE("max_pool2d", "negative_inputs_padding") {
  check_max(ctx, "", kOverlap, -2.0f, -1.0f);
}

VKT_CASE("max_pool2d", "ties_first_index") {
  // Constant planes: every window ties, and PyTorch reports the first in-image position (the
  // general kernel, and PAIRS' unrolled scan on 2x2/2 windows).
  for (const Problem& pr : {kOverlap, Problem{2, 3, 8, 12, pool2d_params(2)}}) {
    std::vector<float> x(size_t(shape_numel(pr.x_shape())), 0.25f);
    MaxPool2dResult r = max_pool2d(ctx.upload(x, pr.x_shape()), pr.params);
    MaxReference ref = max_forward(pr, to_double(x));
    ctx.check("y", pr.text(), r.y.to_host(), ref.y, kMaxForwardTolerance);
    ctx.check_equal("indices", pr.text(), as_u32(r.indices.to_host_i32()), as_u32(ref.indices));
  }
}

VKT_CASE("max_pool2d", "gradcheck_reference") {
  for (const Problem& pr : {kOverlap, kNonSquare}) {
    std::vector<double> x = separated(ctx, size_t(shape_numel(pr.x_shape())));
    std::vector<double> dy = to_double(ctx.uniform(size_t(shape_numel(pr.y_shape()))));
    std::vector<double> dx = max_backward(pr, dy, max_forward(pr, x).indices);
    check_gradient(
        ctx, pr.text(),
        [&](const std::vector<double>& v) { return weighted_sum(max_forward(pr, v).y, dy); }, x,
        dx);
  }
}

VKT_CASE("max_pool2d", "bad_arguments") {
  Tensor x = ctx.poisoned({2, 3, 8, 8});
  ctx.check_error("padding", [&] { (void)max_pool2d(x, pool2d_params(3, 2, 2)); },
                  {"max_pool2d", "at most half", "padding (2, 2)"});
  ctx.check_error("output_size", [&] { (void)max_pool2d(x, pool2d_params(9)); },
                  {"max_pool2d", "not positive", "(2, 3, 8, 8)"});
  ctx.check_error("rank",
                  [&] {
                    (void)max_pool2d(ctx.poisoned({3, 8, 8}), pool2d_params(2));
                  },
                  {"max_pool2d", "4-D", "(3, 8, 8)"});
  ctx.check_error("y_shape",
                  [&] {
                    max_pool2d_forward(x, pool2d_params(2), ctx.poisoned({2, 3, 5, 4}),
                                       Tensor::zeros(ctx.device, {2, 3, 4, 4}, DType::i32));
                  },
                  {"max_pool2d", "(2, 3, 5, 4)", "expected (2, 3, 4, 4)"});
  ctx.check_error("indices_dtype",
                  [&] {
                    max_pool2d_forward(x, pool2d_params(2), ctx.poisoned({2, 3, 4, 4}),
                                       ctx.poisoned({2, 3, 4, 4}));
                  },
                  {"max_pool2d", "indices", "float32", "expected int32"});
  ctx.check_error("backward_dy",
                  [&] {
                    max_pool2d_backward(ctx.poisoned({2, 3, 3, 4}),
                                        Tensor::zeros(ctx.device, {2, 3, 3, 4}, DType::i32),
                                        pool2d_params(2), x);
                  },
                  {"max_pool2d", "dy", "(2, 3, 3, 4)", "expected (2, 3, 4, 4)"});
}

VKT_CASE("avg_pool2d", "overlapping_k3_s2_pad1") {
  check_avg(ctx, "include_pad", kOverlap);
  Problem exclude = kOverlap;
  exclude.params.count_include_pad = false;
  check_avg(ctx, "exclude_pad", exclude);
}
VKT_CASE("avg_pool2d", "default_stride") {
  check_avg(ctx, "", kDefaultStride);
}
VKT_CASE("avg_pool2d", "non_square") {
  check_avg(ctx, "include_pad", kNonSquare);
  Problem exclude = kNonSquare;
  exclude.params.count_include_pad = false;
  check_avg(ctx, "exclude_pad", exclude);
}
VKT_CASE("avg_pool2d", "stride1_pad1") {
  check_avg(ctx, "include_pad", kStrideOne);
  Problem exclude = kStrideOne;
  exclude.params.count_include_pad = false;
  check_avg(ctx, "exclude_pad", exclude);
}
VKT_CASE("avg_pool2d", "whole_plane") {
  check_avg(ctx, "", kWholePlane);
}

VKT_CASE("avg_pool2d", "allocating") {
  Problem pr = kNonSquare;
  std::vector<float> x = ctx.uniform(size_t(shape_numel(pr.x_shape())));
  Tensor y = avg_pool2d(ctx.upload(x, pr.x_shape()), pr.params);
  ctx.check_that("shape", y.shape() == pr.y_shape(), 0, 0, shape_str(y.shape()));
  ctx.check("values", pr.text(), y.to_host(), avg_forward(pr, to_double(x)), kAvgTolerance);
}

VKT_CASE("avg_pool2d", "gradcheck_reference") {
  Problem exclude = kOverlap;
  exclude.params.count_include_pad = false;
  for (const Problem& pr : {kOverlap, exclude, kNonSquare}) {
    std::vector<double> x = to_double(ctx.uniform(size_t(shape_numel(pr.x_shape()))));
    std::vector<double> dy = to_double(ctx.uniform(size_t(shape_numel(pr.y_shape()))));
    check_gradient(
        ctx, pr.text(),
        [&](const std::vector<double>& v) { return weighted_sum(avg_forward(pr, v), dy); }, x,
        avg_backward(pr, dy));
  }
}

VKT_CASE("avg_pool2d", "bad_arguments") {
  Tensor x = ctx.poisoned({2, 3, 8, 8});
  ctx.check_error("padding", [&] { (void)avg_pool2d(x, pool2d_params(2, 2, 2)); },
                  {"avg_pool2d", "at most half", "kernel (2, 2)"});
  ctx.check_error("stride", [&] { (void)avg_pool2d(x, pool2d_params(2, -1)); },
                  {"avg_pool2d", "stride (-1, -1)"});
  ctx.check_error("dx_shape",
                  [&] {
                    avg_pool2d_backward(ctx.poisoned({2, 3, 4, 4}), pool2d_params(2),
                                        ctx.poisoned({2, 3, 7, 7}));
                  },
                  {"avg_pool2d", "dy", "(2, 3, 4, 4)", "expected (2, 3, 3, 3)"});
}

namespace {
void check_global(Context& ctx, Shape shape) {
  int64_t planes = shape[0] * shape[1], plane_size = shape[2] * shape[3];
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  std::vector<float> dy = ctx.uniform(size_t(planes));
  Shape y_shape{shape[0], shape[1], 1, 1};
  Tensor y = ctx.poisoned(y_shape), dx = ctx.poisoned(shape);
  global_avg_pool2d_forward(ctx.upload(x, shape), y);
  global_avg_pool2d_backward(ctx.upload(dy, y_shape), dx);
  std::vector<double> ref_y(size_t(planes), 0.0), ref_dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    ref_y[i / size_t(plane_size)] += double(x[i]) / double(plane_size);
    ref_dx[i] = double(dy[i / size_t(plane_size)]) / double(plane_size);
  }
  ctx.check("y_" + shape_str(shape), shape_str(shape), y.to_host(), ref_y, kAvgTolerance);
  ctx.check("dx_" + shape_str(shape), shape_str(shape), dx.to_host(), ref_dx, kAvgTolerance);
}
}  // namespace

VKT_CASE("global_avg_pool2d", "shapes") {
  check_global(ctx, {3, 5, 7, 7});
  check_global(ctx, {2, 3, 37, 41});  // planes longer than the workgroup
  check_global(ctx, {1, 1, 1, 1});
  check_global(ctx, {2, 67, 1, 3});
}

VKT_CASE("global_avg_pool2d", "allocating_and_gradcheck") {
  // The reference backward (dy / (H·W) broadcast) against central differences of the mean.
  Shape shape{2, 3, 4, 5};
  std::vector<double> x = to_double(ctx.uniform(size_t(shape_numel(shape))));
  std::vector<double> dy = to_double(ctx.uniform(6));
  auto forward = [&](const std::vector<double>& v) {
    std::vector<double> y(6, 0.0);
    for (size_t i = 0; i < v.size(); ++i) y[i / 20] += v[i] / 20.0;
    return y;
  };
  std::vector<double> dx(x.size());
  for (size_t i = 0; i < dx.size(); ++i) dx[i] = dy[i / 20] / 20.0;
  check_gradient(
      ctx, shape_str(shape),
      [&](const std::vector<double>& v) { return weighted_sum(forward(v), dy); }, x, dx);
  std::vector<float> xf(x.begin(), x.end());
  Tensor y = global_avg_pool2d(ctx.upload(xf, shape));
  ctx.check("allocating", shape_str(shape), y.to_host(), forward(x), kAvgTolerance);
}

VKT_CASE("global_avg_pool2d", "bad_arguments") {
  ctx.check_error("y_shape",
                  [&] {
                    global_avg_pool2d_forward(ctx.poisoned({2, 3, 4, 4}), ctx.poisoned({2, 3}));
                  },
                  {"global_avg_pool2d", "(2, 3)", "expected (2, 3, 1, 1)"});
  ctx.check_error("rank",
                  [&] {
                    (void)global_avg_pool2d(ctx.poisoned({3, 4, 4}));
                  },
                  {"global_avg_pool2d", "4-D", "(3, 4, 4)"});
}
