// Elementwise binary and unary ops against float64 references.
#include <cmath>

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
  ctx.check_error("shape_mismatch", [&] { (void)add(ta, ctx.poisoned({7, 33})); },
                  {"binary", "(7, 33, 5)", "(7, 33)"});
}

VKT_CASE("unary", "scale_relu_add_scalar") {
  const Shape shape{1, 2049};
  std::vector<float> x = ctx.uniform(2049);
  Tensor tx = ctx.upload(x, shape);
  std::vector<double> scaled(2049), rectified(2049), shifted(2049);
  for (size_t i = 0; i < x.size(); ++i) {
    scaled[i] = -1.75 * x[i];
    rectified[i] = std::max<double>(x[i], 0.0);
    shifted[i] = x[i] + 0.25;
  }
  ctx.check("scale", shapes({shape}), scale(tx, -1.75f).to_host(), scaled, kTolerance);
  ctx.check("relu", shapes({shape}), relu(tx).to_host(), rectified, 0.0);
  ctx.check("add_scalar", shapes({shape}), add_scalar(tx, 0.25f).to_host(), shifted, kTolerance);
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
