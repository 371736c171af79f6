// Elementwise binary and unary ops (and sign, clamp, replace_nonfinite, round_to_float16, axpy)
// against float64 references.
#include <cmath>
#include <limits>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {
constexpr double kTolerance = 1e-6;  // one float32 rounding per element
}

VKT_CASE("binary", "add_sub_mul_div") {
  const Shape shape{7, 33, 5};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> a = ctx.uniform(n), b = ctx.uniform(n, 0.5f, 2.0f);
  Tensor ta = ctx.upload(a, shape), tb = ctx.upload(b, shape);
  const BinaryOp ops[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div};
  const char* names[] = {"add", "sub", "mul", "div"};
  for (int o = 0; o < 4; ++o) {
    Tensor out = ctx.poisoned(shape);
    binary_into(ops[o], ta, tb, out);
    std::vector<double> ref(n);
    for (size_t i = 0; i < n; ++i) {
      double x = a[i], y = b[i];
      ref[i] = o == 0 ? x + y : o == 1 ? x - y : o == 2 ? x * y : x / y;
    }
    ctx.check(names[o], shapes({shape}), out.to_host(), ref, kTolerance);
  }
  ctx.check_error("shape_mismatch",
                  [&] {
                    (void)add(ta, ctx.poisoned({7, 33}));
                  },
                  {"add:", "(7, 33, 5)", "(7, 33)"});
}

VKT_CASE("unary", "scale_relu_add_scalar") {
  // 2049 elements: the last block of four partial (the scalar kernel); 2048: whole blocks (vec4);
  // 240012: on CPU devices two windowed dispatches (14 windows of 16384 floats each), the second's
  // last window partial.
  for (int64_t n : {2049, 2048, 240012}) {
    const Shape shape{1, n};
    std::vector<float> x = ctx.uniform(size_t(n));
    Tensor tx = ctx.upload(x, shape);
    std::vector<double> scaled(x.size()), rectified(x.size()), shifted(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      scaled[i] = -1.75 * x[i];
      rectified[i] = std::max<double>(x[i], 0.0);
      shifted[i] = x[i] + 0.25;
    }
    ctx.check("scale", shapes({shape}), scale(tx, -1.75f).to_host(), scaled, kTolerance);
    ctx.check("relu", shapes({shape}), relu(tx).to_host(), rectified, 0.0);
    ctx.check("add_scalar", shapes({shape}), add_scalar(tx, 0.25f).to_host(), shifted, kTolerance);
  }
}

VKT_CASE("binary", "large_grid_folds_into_y") {
  // More than 65535 workgroups of 256: the grid folds into a second dimension.
  const int64_t n = 65535LL * 256 + 999;
  std::vector<float> a = ctx.uniform(size_t(n));
  Tensor ta = ctx.upload(a, {n});
  std::vector<float> got = add(ta, ta).to_host();
  std::vector<double> ref(a.size());
  for (size_t i = 0; i < a.size(); ++i) ref[i] = 2.0 * a[i];
  ctx.check("", shapes({{n}}), got, ref, 0.0);
}

VKT_CASE("sign", "values_zero_nan") {
  const Shape shape{3, 337};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n, -2.0f, 2.0f);
  x[0] = 0.0f;
  x[1] = -0.0f;
  x[2] = std::numeric_limits<float>::quiet_NaN();  // torch.sign(NaN) is 0
  x[3] = 1e-30f;
  x[4] = -std::numeric_limits<float>::infinity();
  std::vector<double> ref(n);
  for (size_t i = 0; i < n; ++i) ref[i] = double((x[i] > 0) - (x[i] < 0));
  ctx.check("", shapes({shape}), sign(ctx.upload(x, shape)).to_host(), ref, 0.0);
}

VKT_CASE("clamp", "range_nan_in_place") {
  const Shape shape{1001};
  std::vector<float> x = ctx.uniform(1001, -3.0f, 3.0f);
  x[5] = std::numeric_limits<float>::quiet_NaN();  // torch.clamp keeps NaN
  Tensor tx = ctx.upload(x, shape);
  auto ref = [&](double lo, double hi) {
    std::vector<double> r(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      r[i] = std::isnan(x[i]) ? x[i] : std::min(std::max<double>(x[i], lo), hi);
    return r;
  };
  ctx.check("range", shapes({shape}), clamp(tx, -1.25f, 0.5f).to_host(), ref(-1.25, 0.5), 0.0);
  // lo > hi: every element becomes hi (min(max(x, lo), hi)), as in PyTorch.
  ctx.check("lo_above_hi", shapes({shape}), clamp(tx, 1.0f, -1.0f).to_host(), ref(1.0, -1.0), 0.0);
  clamp_into(tx, -0.5f, 2.0f, tx);
  ctx.check("in_place", shapes({shape}), tx.to_host(), ref(-0.5, 2.0), 0.0);
}

VKT_CASE("replace_nonfinite", "nan_and_inf_in_place") {
  const Shape shape{3, 337};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), -1e3f, 1e3f);
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[7] = std::numeric_limits<float>::infinity();
  x[500] = -std::numeric_limits<float>::infinity();
  x[1010] = std::numeric_limits<float>::max();  // finite: kept
  Tensor tx = ctx.upload(x, shape);
  auto ref = [&](double value) {
    std::vector<double> r(x.size());
    for (size_t i = 0; i < x.size(); ++i) r[i] = std::isfinite(x[i]) ? x[i] : value;
    return r;
  };
  ctx.check("zero", shapes({shape}), replace_nonfinite(tx, 0.0f).to_host(), ref(0.0), 0.0);
  replace_nonfinite_into(tx, -7.5f, tx);
  ctx.check("in_place", shapes({shape}), tx.to_host(), ref(-7.5), 0.0);
}

// Every float16 rounding case, then random magnitudes from float32's subnormals past float16's
// range, against the integer-arithmetic reference, bit for bit (the kernel scales by powers of two
// and rounds, in float32: any slip shows in the last bit).
VKT_CASE("round_to_float16", "ties_subnormals_overflow") {
  const float inf = std::numeric_limits<float>::infinity();
  const float tiny = std::ldexp(1.0f, -24);  // float16's smallest subnormal
  std::vector<float> x = {
      1.0f + std::ldexp(1.0f, -11),      // tie: to even, 1
      1.0f + 3 * std::ldexp(1.0f, -11),  // tie: to even, 1 + 2^-9
      -(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)),  // past the tie: up
      65504.0f, 65519.996f, 65520.0f, -65520.0f, 1e30f,  // largest, below the tie, overflow
      tiny, tiny / 2, 1.5f * tiny, 0.75f * tiny, 2.5f * tiny,  // subnormal ties and steps
      std::ldexp(1.0f, -14) * (1.0f - std::ldexp(1.0f, -12)),  // the subnormal/normal edge
      std::ldexp(1.0f, -140), -0.0f, 0.0f, inf, -inf,
      std::numeric_limits<float>::quiet_NaN()};
  while (x.size() < 1003) {
    float magnitude = std::ldexp(1.0f, int(ctx.rng() % 48) - 30);
    float v = ctx.uniform(1, 1.0f, 2.0f)[0] * magnitude;
    x.push_back(ctx.rng() % 2 ? v : -v);
  }
  const Shape shape{int64_t(x.size())};
  std::vector<uint32_t> ref(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    float r = round_to_half(x[i]);
    ref[i] = bits(std::span<const float>(&r, 1))[0];
  }
  ctx.check_equal("", shapes({shape}), bits(round_to_float16(ctx.upload(x, shape)).to_host()),
                  ref);
  // The reference itself, on the cases above: it is what the test leans on.
  ctx.check_that("reference ties", round_to_half(x[0]) == 1.0f &&
                                       round_to_half(x[1]) == 1.0f + std::ldexp(1.0f, -9) &&
                                       round_to_half(x[4]) == 65504.0f &&
                                       round_to_half(x[5]) == inf && round_to_half(x[9]) == 0.0f &&
                                       round_to_half(x[10]) == 2 * tiny &&
                                       round_to_half(x[11]) == tiny &&
                                       round_to_half(x[12]) == 2 * tiny,
                 0, 0);
}

VKT_CASE("axpy", "update_in_place") {
  const Shape shape{17, 61};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n), y = ctx.uniform(n);
  Tensor tx = ctx.upload(x, shape), ty = ctx.upload(y, shape);
  axpy(-0.375f, tx, ty);
  axpy(2.5f, tx, ty);
  std::vector<double> ref(n);
  for (size_t i = 0; i < n; ++i) ref[i] = double(y[i]) + (-0.375 + 2.5) * x[i];
  // Two float32 multiply-adds per element: a few roundings.
  ctx.check("", shapes({shape}), ty.to_host(), ref, 1e-6);
  ctx.check_error("shape",
                  [&] {
                    axpy(1.0f, tx, ctx.poisoned({61, 17}));
                  },
                  {"axpy", "(17, 61)", "(61, 17)"});
}
