// layer_norm: forward (odd shapes, multi-dimensional normalized shapes, with and without γ and β,
// rows longer than one reduction chunk, more rows than one grid dimension holds, a large common
// offset) and backward (reference by finite differences, then the GPU), and argument errors.
#include <algorithm>
#include <cmath>

#include "conformance.hpp"
#include "gradcheck.hpp"
#include "norm_checks.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::norm;

namespace {

// x viewed as (R, D); γ and β have D elements.
using Ref = RowRef;
using Grads = RowGrads;

Ref forward_ref(const std::vector<double>& x, int64_t d, const std::vector<double>& gamma,
                const std::vector<double>& beta, double eps) {
  return rows_forward_ref(x, d, gamma, beta, eps, [](int64_t, int64_t j) { return j; });
}

Grads backward_ref(const std::vector<double>& dy, const std::vector<double>& x, int64_t d,
                   const std::vector<double>& gamma, const Ref& fwd) {
  return rows_backward_ref(dy, x, d, gamma, d, fwd, [](int64_t, int64_t j) { return j; });
}

// Forward and backward of x `shape` normalized over `normalized`; γ and β switched separately.
void check(Context& ctx, const Shape& shape, const Shape& normalized, bool with_gamma,
           bool with_beta, float offset = 0.0f, bool flat_affine = false) {
  int64_t d = shape_numel(normalized), rows = shape_numel(shape) / d;
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), offset - 1.0f, offset + 1.0f);
  std::vector<float> gamma = ctx.uniform(size_t(d), 0.5f, 1.5f), beta = ctx.uniform(size_t(d));
  std::vector<float> dy = ctx.uniform(x.size());
  Shape affine_shape = flat_affine ? Shape{d} : normalized;
  Tensor tx = ctx.upload(x, shape);
  Tensor tgamma = with_gamma ? ctx.upload(gamma, affine_shape) : Tensor{};
  Tensor tbeta = with_beta ? ctx.upload(beta, affine_shape) : Tensor{};
  Tensor y = ctx.poisoned(shape), save_mean = ctx.poisoned({rows}),
         save_invstd = ctx.poisoned({rows});
  layer_norm_forward(tx, normalized, tgamma, tbeta, save_mean, save_invstd, y);

  std::vector<double> xd = to_double(x);
  std::vector<double> gd = with_gamma ? to_double(gamma) : std::vector<double>{};
  Ref ref = forward_ref(xd, d, gd, with_beta ? to_double(beta) : std::vector<double>{}, 1e-5);
  std::string text = shapes({shape, normalized});
  double tolerance = offset != 0.0f ? kOffsetTolerance : kForwardTolerance;
  ctx.check("y", text, y.to_host(), ref.y, tolerance);
  check_mean(ctx, "save_mean", text, save_mean.to_host(), ref.mean, x, kForwardTolerance);
  ctx.check("save_invstd", text, save_invstd.to_host(), ref.invstd,
            offset != 0.0f ? kOffsetVarianceTolerance : kForwardTolerance);

  Tensor dx = ctx.poisoned(shape);
  Tensor dgamma = ctx.poisoned(affine_shape), dbeta = ctx.poisoned(affine_shape);
  layer_norm_backward(ctx.upload(dy, shape), tx, normalized, tgamma, save_mean, save_invstd, dx,
                      dgamma, dbeta);
  Grads g = backward_ref(to_double(dy), xd, d, gd, ref);
  ctx.check("dx", text, dx.to_host(), g.dx, offset != 0.0f ? kOffsetTolerance : kBackwardTolerance);
  ctx.check("dgamma", text, dgamma.to_host(), g.dgamma,
            offset != 0.0f ? kOffsetTolerance : kBackwardTolerance);
  ctx.check("dbeta", text, dbeta.to_host(), g.dbeta, kBackwardTolerance);
}

}  // namespace

VKT_CASE("layer_norm", "odd_last_dim") {
  check(ctx, {3, 5, 7}, {7}, true, true);
}
VKT_CASE("layer_norm", "two_normalized_dims") {
  check(ctx, {3, 5, 7}, {5, 7}, true, true);
}
VKT_CASE("layer_norm", "flat_affine") {
  check(ctx, {4, 3, 6}, {3, 6}, true, true, 0.0f, true);
}
VKT_CASE("layer_norm", "no_affine") {
  check(ctx, {9, 13}, {13}, false, false);
}
VKT_CASE("layer_norm", "gamma_only") {
  check(ctx, {2, 3, 11}, {11}, true, false);
}
VKT_CASE("layer_norm", "single_row") {
  check(ctx, {37}, {37}, true, true);
}
VKT_CASE("layer_norm", "many_rows") {
  check(ctx, {301, 9}, {9}, true, true);
}
// dγ, dβ reduce columns of (R, D): with D >= 32, 32 adjacent columns per workgroup; 300 rows make
// three chunks of them.
VKT_CASE("layer_norm", "many_rows_wide") {
  check(ctx, {300, 40}, {40}, true, true);
}
// 4500 elements per row: more than one reduction chunk, merged by Chan's formula.
VKT_CASE("layer_norm", "long_rows") {
  check(ctx, {3, 4500}, {4500}, true, true);
}
VKT_CASE("layer_norm", "large_offset") {
  check(ctx, {5, 3, 33}, {33}, true, true, 1000.0f);
}

VKT_CASE("layer_norm", "d_equals_1") {
  // One element per row: var = 0, so y = β and dx = 0 (x̂ = 0 everywhere).
  check(ctx, {6, 1}, {1}, true, true);
}

VKT_CASE("layer_norm", "grid_fold") {
  // 65600 rows: more workgroups than one grid dimension holds (65535), folded into y.
  const int64_t rows = 65600, d = 2;
  std::vector<float> x = ctx.uniform(size_t(rows * d));
  auto out = layer_norm(ctx.upload(x, {rows, d}), {d}, {}, {});
  Ref ref = forward_ref(to_double(x), d, {}, {}, 1e-5);
  ctx.check("y", shapes({{rows, d}}), out.y.to_host(), ref.y, kForwardTolerance);
  ctx.check("save_invstd", shapes({{rows, d}}), out.save_invstd.to_host(), ref.invstd,
            kForwardTolerance);
}

VKT_CASE("layer_norm", "gradcheck_reference") {
  const int64_t rows = 3, d = 5;
  std::vector<double> x = to_double(ctx.uniform(size_t(rows * d)));
  std::vector<double> gamma = to_double(ctx.uniform(size_t(d), 0.5f, 1.5f));
  std::vector<double> beta = to_double(ctx.uniform(size_t(d)));
  std::vector<double> dy = to_double(ctx.uniform(x.size()));
  Grads g = backward_ref(dy, x, d, gamma, forward_ref(x, d, gamma, beta, 1e-5));
  auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv,
                  const std::vector<double>& bv) {
    return weighted_sum(forward_ref(xv, d, gv, bv, 1e-5).y, dy);
  };
  check_gradient(
      ctx, "dx", [&](const std::vector<double>& v) { return loss(v, gamma, beta); }, x, g.dx);
  check_gradient(
      ctx, "dgamma", [&](const std::vector<double>& v) { return loss(x, v, beta); }, gamma,
      g.dgamma);
  check_gradient(
      ctx, "dbeta", [&](const std::vector<double>& v) { return loss(x, gamma, v); }, beta, g.dbeta);
}

VKT_CASE("layer_norm", "allocating_forms") {
  const Shape shape{4, 2, 5};
  std::vector<float> x = ctx.uniform(40), gamma = ctx.uniform(10), beta = ctx.uniform(10);
  std::vector<float> dy = ctx.uniform(40);
  Tensor tx = ctx.upload(x, shape), tgamma = ctx.upload(gamma, {2, 5});
  auto out = layer_norm(tx, {2, 5}, tgamma, ctx.upload(beta, {2, 5}), 1e-3f);
  Ref ref = forward_ref(to_double(x), 10, to_double(gamma), to_double(beta), 1e-3);
  ctx.check("y", shapes({shape}), out.y.to_host(), ref.y, kForwardTolerance);
  auto grads = layer_norm_backward(ctx.upload(dy, shape), tx, {2, 5}, tgamma, out.save_mean,
                                   out.save_invstd);
  Grads g = backward_ref(to_double(dy), to_double(x), 10, to_double(gamma), ref);
  ctx.check("dx", shapes({shape}), grads.dx.to_host(), g.dx, kBackwardTolerance);
  ctx.check("dgamma", shapes({shape}), grads.dgamma.to_host(), g.dgamma, kBackwardTolerance);
  ctx.check_that("dgamma_shape", grads.dgamma.shape() == Shape{2, 5}, 0, 0);
}

VKT_CASE("layer_norm", "bad_arguments") {
  Tensor x = ctx.poisoned({4, 3, 5}), y = ctx.poisoned({4, 3, 5});
  ctx.check_error("normalized_shape",
                  [&] {
                    (void)layer_norm(x, {3, 4}, {}, {});
                  },
                  {"layer_norm", "normalized_shape (3, 4)", "(4, 3, 5)"});
  ctx.check_error("normalized_shape_too_long",
                  [&] {
                    (void)layer_norm(x, {2, 4, 3, 5}, {}, {});
                  },
                  {"layer_norm", "(2, 4, 3, 5)", "trailing dimensions"});
  ctx.check_error("empty_normalized_shape", [&] { (void)layer_norm(x, {}, {}, {}); },
                  {"layer_norm", "non-empty"});
  ctx.check_error("gamma_shape", [&] { (void)layer_norm(x, {5}, ctx.poisoned({4}), {}); },
                  {"layer_norm", "gamma", "(4,)", "expected (5,)"});
  ctx.check_error("beta_shape",
                  [&] {
                    (void)layer_norm(x, {3, 5}, {}, ctx.poisoned({5, 3}));
                  },
                  {"layer_norm", "beta", "(5, 3)", "expected (3, 5)"});
  ctx.check_error("save_mean",
                  [&] { layer_norm_forward(x, {5}, {}, {}, ctx.poisoned({4}), {}, y); },
                  {"layer_norm", "save_mean", "(4,)", "(12,)"});
  ctx.check_error("y_shape",
                  [&] {
                    layer_norm_forward(x, {5}, {}, {}, {}, {}, ctx.poisoned({4, 15}));
                  },
                  {"layer_norm", "(4, 3, 5)", "(4, 15)"});
  ctx.check_error("backward_dy",
                  [&] {
                    (void)layer_norm_backward(ctx.poisoned({4, 5}), x, {5}, {}, x, x);
                  },
                  {"layer_norm", "dy (4, 5)", "x (4, 3, 5)"});
}
