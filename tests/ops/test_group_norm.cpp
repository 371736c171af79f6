// group_norm and instance_norm: forward (odd shapes, G from 1 to C, with and without γ and β,
// groups longer than one reduction chunk, a large common offset) and backward (reference by finite
// differences, then the GPU), and argument errors.
#include <algorithm>
#include <cmath>

#include "conformance.hpp"
#include "gradcheck.hpp"
#include "norm_checks.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::norm;

namespace {

// dx of groups of three values: x − mean of three nearby values can lose most of its relative
// precision, and dx (dy·γ·invstd minus its projection on two directions) can be much smaller than
// its terms; 40 seeds gave at most 1.1e-5.
constexpr double kSmallGroupTolerance = 1e-4;

// x (N, C, S) in G groups.
struct Dims {
  int64_t n, c, s, g;
  int64_t per_group() const { return c / g * s; }
};

Dims dims_of(const Shape& shape, int64_t groups) {
  int64_t s = 1;
  for (size_t d = 2; d < shape.size(); ++d) s *= shape[d];
  return {shape[0], shape[1], s, groups};
}

using Ref = RowRef;
using Grads = RowGrads;

// Channel of element j of row (n·G + g): the groups of a sample are contiguous blocks of C/G
// channels of S positions each.
auto channel_of(const Dims& d) {
  return [d](int64_t row, int64_t j) { return (row % d.g) * (d.c / d.g) + j / d.s; };
}

Ref forward_ref(const std::vector<double>& x, const Dims& d, const std::vector<double>& gamma,
                const std::vector<double>& beta, double eps) {
  return rows_forward_ref(x, d.per_group(), gamma, beta, eps, channel_of(d));
}

Grads backward_ref(const std::vector<double>& dy, const std::vector<double>& x, const Dims& d,
                   const std::vector<double>& gamma, const Ref& fwd) {
  return rows_backward_ref(dy, x, d.per_group(), gamma, d.c, fwd, channel_of(d));
}

// Forward and backward of group norm (instance: group norm with G = C through its own entry
// points).
void check(Context& ctx, const Shape& shape, int64_t groups, bool affine, bool instance = false,
           float offset = 0.0f) {
  Dims d = dims_of(shape, groups);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), offset - 1.0f, offset + 1.0f);
  std::vector<float> gamma = ctx.uniform(size_t(d.c), 0.5f, 1.5f), beta = ctx.uniform(size_t(d.c));
  std::vector<float> dy = ctx.uniform(x.size());
  Tensor tx = ctx.upload(x, shape);
  Tensor tgamma = affine ? ctx.upload(gamma, {d.c}) : Tensor{};
  Tensor tbeta = affine ? ctx.upload(beta, {d.c}) : Tensor{};
  Tensor y = ctx.poisoned(shape);
  Tensor save_mean = ctx.poisoned({d.n, groups}), save_invstd = ctx.poisoned({d.n, groups});
  if (instance)
    instance_norm_forward(tx, tgamma, tbeta, save_mean, save_invstd, y);
  else
    group_norm_forward(tx, groups, tgamma, tbeta, save_mean, save_invstd, y);

  std::vector<double> xd = to_double(x);
  std::vector<double> gd = affine ? to_double(gamma) : std::vector<double>{};
  Ref ref = forward_ref(xd, d, gd, affine ? to_double(beta) : std::vector<double>{}, 1e-5);
  std::string text = shapes({shape}) + " G=" + std::to_string(groups);
  double tolerance = offset != 0.0f ? kOffsetTolerance : kForwardTolerance;
  ctx.check("y", text, y.to_host(), ref.y, tolerance);
  check_mean(ctx, "save_mean", text, save_mean.to_host(), ref.mean, x, kForwardTolerance);
  ctx.check("save_invstd", text, save_invstd.to_host(), ref.invstd,
            offset != 0.0f ? kOffsetVarianceTolerance : kForwardTolerance);

  Tensor dx = ctx.poisoned(shape);
  Tensor dgamma = affine ? ctx.poisoned({d.c}) : Tensor{},
         dbeta = affine ? ctx.poisoned({d.c}) : Tensor{};
  Tensor tdy = ctx.upload(dy, shape);
  if (instance)
    instance_norm_backward(tdy, tx, tgamma, save_mean, save_invstd, dx, dgamma, dbeta);
  else
    group_norm_backward(tdy, tx, groups, tgamma, save_mean, save_invstd, dx, dgamma, dbeta);
  Grads g = backward_ref(to_double(dy), xd, d, gd, ref);
  double backward_tolerance = offset != 0.0f       ? kOffsetTolerance
                              : d.per_group() <= 3 ? kSmallGroupTolerance
                                                   : kBackwardTolerance;
  ctx.check("dx", text, dx.to_host(), g.dx, backward_tolerance);
  if (affine) {
    ctx.check("dgamma", text, dgamma.to_host(), g.dgamma, backward_tolerance);
    ctx.check("dbeta", text, dbeta.to_host(), g.dbeta, kBackwardTolerance);
  }
}

}  // namespace

VKT_CASE("group_norm", "odd_shapes") {
  for (int64_t groups : {1, 2, 3, 6}) check(ctx, {3, 6, 7, 5}, groups, true);
}
VKT_CASE("group_norm", "no_affine") {
  check(ctx, {2, 4, 3, 7}, 2, false);
}
VKT_CASE("group_norm", "batch_of_one") {
  check(ctx, {1, 9, 5, 3}, 3, true);
}
// Three values per group (with two, x̂ = ±1 and dx cancels down to O(eps): nothing to check).
VKT_CASE("group_norm", "no_spatial_dims") {
  check(ctx, {5, 6}, 2, true);
}
VKT_CASE("group_norm", "one_dim_spatial") {
  check(ctx, {4, 10, 13}, 5, true);
}
// 2·47·47 = 4418 elements per group: more than one reduction chunk, merged by Chan's formula.
VKT_CASE("group_norm", "long_groups") {
  check(ctx, {2, 4, 47, 47}, 2, true);
}
VKT_CASE("group_norm", "large_offset") {
  check(ctx, {2, 6, 5, 7}, 3, true, false, 1000.0f);
}

VKT_CASE("instance_norm", "instance_norm2d") {
  check(ctx, {3, 5, 7, 9}, 5, true, true);
}
VKT_CASE("instance_norm", "instance_norm2d_no_affine") {
  check(ctx, {2, 3, 4, 5}, 3, false, true);
}
VKT_CASE("instance_norm", "instance_norm1d") {
  check(ctx, {4, 3, 11}, 3, true, true);
}

VKT_CASE("instance_norm", "allocating_forms") {
  const Shape shape{2, 3, 5};
  Dims d = dims_of(shape, 3);
  std::vector<float> x = ctx.uniform(30), dy = ctx.uniform(30), gamma = ctx.uniform(3);
  Tensor tx = ctx.upload(x, shape), tgamma = ctx.upload(gamma, {3});
  auto out = instance_norm(tx, tgamma, {}, 1e-3f);
  Ref ref = forward_ref(to_double(x), d, to_double(gamma), {}, 1e-3);
  ctx.check("y", shapes({shape}), out.y.to_host(), ref.y, kForwardTolerance);
  ctx.check_that("save_shape", out.save_mean.shape() == Shape{2, 3}, 0, 0);
  auto grads =
      instance_norm_backward(ctx.upload(dy, shape), tx, tgamma, out.save_mean, out.save_invstd);
  Grads g = backward_ref(to_double(dy), to_double(x), d, to_double(gamma), ref);
  ctx.check("dx", shapes({shape}), grads.dx.to_host(), g.dx, kBackwardTolerance);
  ctx.check("dgamma", shapes({shape}), grads.dgamma.to_host(), g.dgamma, kBackwardTolerance);
  ctx.check("dbeta", shapes({shape}), grads.dbeta.to_host(), g.dbeta, kBackwardTolerance);
}

VKT_CASE("group_norm", "allocating_forms") {
  const Shape shape{3, 4, 2, 3};
  Dims d = dims_of(shape, 2);
  std::vector<float> x = ctx.uniform(72), dy = ctx.uniform(72);
  std::vector<float> gamma = ctx.uniform(4), beta = ctx.uniform(4);
  Tensor tx = ctx.upload(x, shape), tgamma = ctx.upload(gamma, {4});
  auto out = group_norm(tx, 2, tgamma, ctx.upload(beta, {4}));
  Ref ref = forward_ref(to_double(x), d, to_double(gamma), to_double(beta), 1e-5);
  ctx.check("y", shapes({shape}), out.y.to_host(), ref.y, kForwardTolerance);
  auto grads =
      group_norm_backward(ctx.upload(dy, shape), tx, 2, tgamma, out.save_mean, out.save_invstd);
  Grads g = backward_ref(to_double(dy), to_double(x), d, to_double(gamma), ref);
  ctx.check("dx", shapes({shape}), grads.dx.to_host(), g.dx, kBackwardTolerance);
  ctx.check("dgamma", shapes({shape}), grads.dgamma.to_host(), g.dgamma, kBackwardTolerance);
  ctx.check("dbeta", shapes({shape}), grads.dbeta.to_host(), g.dbeta, kBackwardTolerance);
}

VKT_CASE("group_norm", "gradcheck_reference") {
  const Shape shape{2, 4, 3};
  Dims d = dims_of(shape, 2);
  std::vector<double> x = to_double(ctx.uniform(24));
  std::vector<double> gamma = to_double(ctx.uniform(4, 0.5f, 1.5f)),
                      beta = to_double(ctx.uniform(4));
  std::vector<double> dy = to_double(ctx.uniform(24));
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

VKT_CASE("group_norm", "bad_arguments") {
  Tensor x = ctx.poisoned({2, 6, 3, 3}), y = ctx.poisoned({2, 6, 3, 3});
  ctx.check_error("channels_not_divisible", [&] { (void)group_norm(x, 4, {}, {}); },
                  {"group_norm", "divisible by num_groups", "(2, 6, 3, 3)", "num_groups=4"});
  ctx.check_error("zero_groups", [&] { (void)group_norm(x, 0, {}, {}); },
                  {"group_norm", "num_groups=0"});
  ctx.check_error("gamma_shape", [&] { (void)group_norm(x, 3, ctx.poisoned({3}), {}); },
                  {"group_norm", "gamma", "(3,)", "expected (6,)"});
  ctx.check_error("beta_shape",
                  [&] {
                    (void)group_norm(x, 3, {}, ctx.poisoned({6, 1}));
                  },
                  {"group_norm", "beta", "(6, 1)", "expected (6,)"});
  ctx.check_error("save_mean",
                  [&] {
                    group_norm_forward(x, 3, {}, {}, ctx.poisoned({2, 6}), {}, y);
                  },
                  {"group_norm", "save_mean", "(2, 6)", "expected (2, 3)"});
  ctx.check_error("rank", [&] { (void)group_norm(ctx.poisoned({6}), 3, {}, {}); },
                  {"group_norm", "(6,)", "(N, C, *)"});
  ctx.check_error("backward_dgamma",
                  [&] {
                    group_norm_backward(x, x, 3, {}, ctx.poisoned({2, 3}), ctx.poisoned({2, 3}), {},
                                        ctx.poisoned({5}), {});
                  },
                  {"group_norm", "dgamma", "(5,)", "expected (6,)"});
  ctx.check_error("instance_spatial",
                  [&] {
                    (void)instance_norm(ctx.poisoned({4, 3, 1}), {}, {});
                  },
                  {"instance_norm", "Expected more than 1 spatial element", "(4, 3, 1)"});
  ctx.check_error("instance_rank",
                  [&] {
                    (void)instance_norm(ctx.poisoned({4, 3}), {}, {});
                  },
                  {"instance_norm", "(4, 3)", "(N, C, L)"});
  ctx.check_error("instance_gamma",
                  [&] {
                    (void)instance_norm(ctx.poisoned({2, 3, 4}), ctx.poisoned({2}), {});
                  },
                  {"instance_norm", "gamma", "(2,)", "expected (3,)"});
}
