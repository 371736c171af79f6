// batch_norm1d / batch_norm2d: training and eval forwards against a float64 reference, running
// statistics over several steps (momentum and cumulative), captured steps, a large common offset,
// affine and track_running_stats switched off, a fused ReLU (its mask at 0 included), backward
// (reference by finite differences, then the GPU), the eval-mode fold into conv/linear weights,
// and argument errors.
// Kernels exercised: norm_stats, norm_finalize, batch_norm_finalize (running statistics),
// batch_norm_invstd (eval), norm_apply, norm_backward_reduce, norm_sum_chunks,
// norm_backward_apply, batch_norm_fold, batch_norm_fold_weights.
#include <algorithm>
#include <cmath>
#include <optional>

#include "conformance.hpp"
#include "gradcheck.hpp"
#include "norm_checks.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::norm;

namespace {

// x (N, C, S) flattened; statistics per channel over N·S elements.
struct Dims {
  int64_t n, c, s;
  int64_t m() const { return n * s; }
  size_t at(int64_t in, int64_t ic, int64_t is) const { return size_t((in * c + ic) * s + is); }
};

Dims dims_of(const Shape& shape) {
  int64_t s = 1;
  for (size_t d = 2; d < shape.size(); ++d) s *= shape[d];
  return {shape[0], shape[1], s};
}

struct Stats {
  std::vector<double> mean, var;  // var biased
};

Stats batch_stats(const std::vector<double>& x, const Dims& d) {
  Stats st{std::vector<double>(size_t(d.c)), std::vector<double>(size_t(d.c))};
  for (int64_t c = 0; c < d.c; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t s = 0; s < d.s; ++s) sum += x[d.at(n, c, s)];
    double mean = sum / double(d.m());
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t s = 0; s < d.s; ++s) sq += (x[d.at(n, c, s)] - mean) * (x[d.at(n, c, s)] - mean);
    st.mean[size_t(c)] = mean;
    st.var[size_t(c)] = sq / double(d.m());
  }
  return st;
}

std::vector<double> invstd_of(const std::vector<double>& var, double eps) {
  std::vector<double> r(var.size());
  for (size_t i = 0; i < var.size(); ++i) r[i] = 1.0 / std::sqrt(var[i] + eps);
  return r;
}

// y = (x − mean)·invstd·γ + β with the given per-channel statistics (γ, β empty: none).
std::vector<double> normalize(const std::vector<double>& x, const Dims& d,
                              const std::vector<double>& mean, const std::vector<double>& invstd,
                              const std::vector<double>& gamma, const std::vector<double>& beta) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t s = 0; s < d.s; ++s) {
        size_t i = d.at(n, c, s);
        double v = (x[i] - mean[size_t(c)]) * invstd[size_t(c)];
        if (!gamma.empty()) v *= gamma[size_t(c)];
        if (!beta.empty()) v += beta[size_t(c)];
        y[i] = v;
      }
  return y;
}

// The training forward in float64 (batch statistics).
std::vector<double> forward_ref(const std::vector<double>& x, const Dims& d,
                                const std::vector<double>& gamma, const std::vector<double>& beta,
                                double eps) {
  Stats st = batch_stats(x, d);
  return normalize(x, d, st.mean, invstd_of(st.var, eps), gamma, beta);
}

struct Grads {
  std::vector<double> dx, dgamma, dbeta;
};

// Training backward: dx = γ·invstd/m·(m·dy − Σdy − x̂·Σdy·x̂); eval: dx = dy·γ·invstd.
Grads backward_ref(const std::vector<double>& dy, const std::vector<double>& x, const Dims& d,
                   const std::vector<double>& gamma, const std::vector<double>& mean,
                   const std::vector<double>& invstd, bool batch) {
  Grads g{std::vector<double>(x.size()), std::vector<double>(size_t(d.c)),
          std::vector<double>(size_t(d.c))};
  for (int64_t c = 0; c < d.c; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t s = 0; s < d.s; ++s) {
        size_t i = d.at(n, c, s);
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * (x[i] - mean[size_t(c)]) * invstd[size_t(c)];
      }
    g.dbeta[size_t(c)] = sum_dy;
    g.dgamma[size_t(c)] = sum_dy_xhat;
    double w = gamma.empty() ? 1.0 : gamma[size_t(c)];
    double m = double(d.m());
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t s = 0; s < d.s; ++s) {
        size_t i = d.at(n, c, s);
        double xhat = (x[i] - mean[size_t(c)]) * invstd[size_t(c)];
        g.dx[i] = batch ? w * invstd[size_t(c)] * (dy[i] - (sum_dy + xhat * sum_dy_xhat) / m)
                        : dy[i] * w * invstd[size_t(c)];
      }
  }
  return g;
}

// A training forward without running statistics, then the training backward, all checked.
// relu: with a fused ReLU (BatchNormOptions::relu): y = max(0, ·), and the backward masks dy with
// the GPU's y > 0 (the reference takes the mask from the kernel's output: a y within rounding of 0
// may fall on either side in float32 and float64).
void check_training(Context& ctx, const std::string& label, const Shape& shape, bool affine,
                    float offset = 0.0f, bool relu = false) {
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), offset - 1.0f, offset + 1.0f);
  std::vector<float> gamma = ctx.uniform(size_t(d.c), 0.5f, 1.5f), beta = ctx.uniform(size_t(d.c));
  std::vector<float> dy = ctx.uniform(x.size());
  Tensor tx = ctx.upload(x, shape);
  Tensor tgamma = affine ? ctx.upload(gamma, {d.c}) : Tensor{};
  Tensor tbeta = affine ? ctx.upload(beta, {d.c}) : Tensor{};
  Tensor y = ctx.poisoned(shape), save_mean = ctx.poisoned({d.c}),
         save_invstd = ctx.poisoned({d.c});
  batch_norm_forward(tx, tgamma, tbeta, {}, {}, {}, save_mean, save_invstd, y, {.relu = relu});

  std::vector<double> xd = to_double(x);
  std::vector<double> gd = affine ? to_double(gamma) : std::vector<double>{};
  std::vector<double> bd = affine ? to_double(beta) : std::vector<double>{};
  Stats st = batch_stats(xd, d);
  std::vector<double> invstd = invstd_of(st.var, 1e-5);
  std::string text = shapes({shape});
  double tolerance = offset != 0.0f ? kOffsetTolerance : kForwardTolerance;
  std::vector<double> y_ref = normalize(xd, d, st.mean, invstd, gd, bd);
  if (relu)
    for (double& v : y_ref) v = std::max(v, 0.0);
  std::vector<float> y_gpu = y.to_host();
  ctx.check(label + "y", text, y_gpu, y_ref, tolerance);
  check_mean(ctx, label + "save_mean", text, save_mean.to_host(), st.mean, x, kForwardTolerance);
  ctx.check(label + "save_invstd", text, save_invstd.to_host(), invstd,
            offset != 0.0f ? kOffsetVarianceTolerance : kForwardTolerance);

  Tensor dx = ctx.poisoned(shape);
  Tensor dgamma = affine ? ctx.poisoned({d.c}) : Tensor{};
  Tensor dbeta = affine ? ctx.poisoned({d.c}) : Tensor{};
  batch_norm_backward(ctx.upload(dy, shape), tx, tgamma, save_mean, save_invstd, dx, dgamma, dbeta,
                      true, relu ? std::optional(FusedRelu{tbeta}) : std::nullopt);
  std::vector<double> dy_ref = to_double(dy);
  if (relu)
    for (size_t i = 0; i < dy_ref.size(); ++i) dy_ref[i] *= y_gpu[i] > 0.0f ? 1.0 : 0.0;
  Grads ref = backward_ref(dy_ref, xd, d, gd, st.mean, invstd, true);
  // With two values per channel x̂ = ±sqrt(var/(var + eps)) and dx cancels down to O(eps·dy): a
  // relative check of that residue would measure float32 rounding, not the kernel.
  if (d.m() > 2)
    ctx.check(label + "dx", text, dx.to_host(), ref.dx,
              offset != 0.0f ? kOffsetTolerance : kBackwardTolerance);
  if (affine) {
    ctx.check(label + "dgamma", text, dgamma.to_host(), ref.dgamma,
              offset != 0.0f ? kOffsetTolerance : kBackwardTolerance);
    ctx.check(label + "dbeta", text, dbeta.to_host(), ref.dbeta, kBackwardTolerance);
  }
}

// Running statistics after `steps` training steps on fresh batches, against the recurrence.
void check_running(Context& ctx, const Shape& shape, std::optional<float> momentum, int steps) {
  Dims d = dims_of(shape);
  std::vector<float> rm0 = ctx.uniform(size_t(d.c)), rv0 = ctx.uniform(size_t(d.c), 0.5f, 1.5f);
  Tensor running_mean = ctx.upload(rm0, {d.c}), running_var = ctx.upload(rv0, {d.c});
  uint32_t zero[] = {0};
  Tensor batches = Tensor::from_host(ctx.device, std::span<const uint32_t>(zero), {1});
  std::vector<float> gamma = ctx.uniform(size_t(d.c)), beta = ctx.uniform(size_t(d.c));
  Tensor tgamma = ctx.upload(gamma, {d.c}), tbeta = ctx.upload(beta, {d.c});
  std::vector<double> rm = to_double(rm0), rv = to_double(rv0);
  BatchNormOptions options{.momentum = momentum};
  std::string text = shapes({shape});
  for (int step = 1; step <= steps; ++step) {
    std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), -2.0f, 3.0f);
    Tensor y = ctx.poisoned(shape);
    batch_norm_forward(ctx.upload(x, shape), tgamma, tbeta, running_mean, running_var, batches, {},
                       {}, y, options);
    std::vector<double> xd = to_double(x);
    Stats st = batch_stats(xd, d);
    double factor = momentum ? double(*momentum) : 1.0 / step;
    double m = double(d.m());
    for (size_t c = 0; c < size_t(d.c); ++c) {
      rm[c] = (1 - factor) * rm[c] + factor * st.mean[c];
      rv[c] = (1 - factor) * rv[c] + factor * st.var[c] * m / (m - 1);
    }
    ctx.check("y_step" + std::to_string(step), text, y.to_host(),
              normalize(xd, d, st.mean, invstd_of(st.var, 1e-5), to_double(gamma), to_double(beta)),
              kForwardTolerance);
  }
  ctx.check("running_mean", text, running_mean.to_host(), rm, kForwardTolerance);
  ctx.check("running_var", text, running_var.to_host(), rv, kForwardTolerance);
  uint32_t expected[] = {uint32_t(steps)};
  ctx.check_equal("num_batches_tracked", text, batches.to_host_u32(), expected);

  // Eval: normalizes with the running statistics, and saves them for the eval backward.
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), -2.0f, 3.0f);
  std::vector<float> dy = ctx.uniform(x.size());
  Tensor tx = ctx.upload(x, shape);
  Tensor y = ctx.poisoned(shape), save_mean = ctx.poisoned({d.c}),
         save_invstd = ctx.poisoned({d.c});
  options.training = false;
  batch_norm_forward(tx, tgamma, tbeta, running_mean, running_var, batches, save_mean, save_invstd,
                     y, options);
  std::vector<double> rm_gpu = to_double(running_mean.to_host());
  std::vector<double> invstd = invstd_of(to_double(running_var.to_host()), 1e-5);
  std::vector<double> xd = to_double(x);
  ctx.check("eval_y", text, y.to_host(),
            normalize(xd, d, rm_gpu, invstd, to_double(gamma), to_double(beta)), kForwardTolerance);
  ctx.check("eval_save_mean", text, save_mean.to_host(), rm_gpu, 0.0);
  ctx.check("eval_save_invstd", text, save_invstd.to_host(), invstd, kForwardTolerance);
  ctx.check_equal("eval_leaves_num_batches_tracked", text, batches.to_host_u32(), expected);

  auto grads = batch_norm_backward(ctx.upload(dy, shape), tx, tgamma, save_mean, save_invstd,
                                   batch_norm_uses_batch_stats(options, running_mean));
  Grads ref = backward_ref(to_double(dy), xd, d, to_double(gamma), rm_gpu, invstd, false);
  ctx.check("eval_dx", text, grads.dx.to_host(), ref.dx, kForwardTolerance);
  ctx.check("eval_dgamma", text, grads.dgamma.to_host(), ref.dgamma, kBackwardTolerance);
  ctx.check("eval_dbeta", text, grads.dbeta.to_host(), ref.dbeta, kBackwardTolerance);
}

// A fused ReLU's backward recomputes the forward's output from x: its mask must be the forward's
// y > 0 exactly, also where y is 0 up to rounding. β is chosen from the forward's statistics so
// that (x − mean)·invstd·γ + β is 0 in float32 arithmetic for nine equal x per channel (up to three
// samples by three positions); with dy = 1, dβ = Σ(y > 0) must then count the forward's positives
// exactly, and dx must follow the same mask. batch: training (batch statistics); otherwise eval
// with running statistics.
void check_relu_mask_at_zero(Context& ctx, const Shape& shape, bool batch) {
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t n = 0; n < std::min<int64_t>(d.n, 3); ++n)
      for (int64_t s = 0; s < std::min<int64_t>(d.s, 3); ++s) x[d.at(n, c, s)] = x[d.at(0, c, 0)];
  std::vector<float> gamma = ctx.uniform(size_t(d.c), 0.5f, 1.5f);
  Tensor tx = ctx.upload(x, shape), tgamma = ctx.upload(gamma, {d.c});
  BatchNormOptions options{.training = batch, .relu = true};
  Tensor rm = batch ? Tensor() : ctx.upload(ctx.uniform(size_t(d.c)), {d.c});
  Tensor rv = batch ? Tensor() : ctx.upload(ctx.uniform(size_t(d.c), 0.5f, 1.5f), {d.c});
  Tensor save_mean = ctx.poisoned({d.c}), save_invstd = ctx.poisoned({d.c});
  Tensor y = ctx.poisoned(shape);
  // The statistics do not depend on β: a first forward finds them, the second runs with the β.
  batch_norm_forward(tx, tgamma, {}, rm, rv, {}, save_mean, save_invstd, y, options);
  std::vector<float> mean = save_mean.to_host(), invstd = save_invstd.to_host();
  std::vector<float> beta(size_t(d.c));
  // Each step a rounded float32 operation, as the kernels' (a subtraction, then products: nothing
  // a compiler could fuse), so that the kernels' xhat·γ + β is exactly 0.
  for (size_t c = 0; c < beta.size(); ++c)
    beta[c] = -((x[d.at(0, int64_t(c), 0)] - mean[c]) * invstd[c] * gamma[c]);
  Tensor tbeta = ctx.upload(beta, {d.c});
  batch_norm_forward(tx, tgamma, tbeta, rm, rv, {}, save_mean, save_invstd, y, options);

  std::vector<float> ones(x.size(), 1.0f);
  Tensor dx = ctx.poisoned(shape), dgamma = ctx.poisoned({d.c}), dbeta = ctx.poisoned({d.c});
  batch_norm_backward(ctx.upload(ones, shape), tx, tgamma, save_mean, save_invstd, dx, dgamma,
                      dbeta, batch, FusedRelu{tbeta});
  std::vector<float> y_gpu = y.to_host();
  std::vector<double> mask(x.size()), positives(size_t(d.c));
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t s = 0; s < d.s; ++s) {
        size_t i = d.at(n, c, s);
        mask[i] = y_gpu[i] > 0.0f ? 1.0 : 0.0;
        positives[size_t(c)] += mask[i];
      }
  std::string text = shapes({shape}) + (batch ? " train" : " eval");
  std::vector<float> dbeta_gpu = dbeta.to_host();
  double worst = 0;
  for (size_t c = 0; c < positives.size(); ++c)
    worst = std::isfinite(dbeta_gpu[c]) ? std::max(worst, std::fabs(dbeta_gpu[c] - positives[c]))
                                        : INFINITY;
  ctx.check_that("dbeta_counts_positives", worst == 0.0, worst, 0.0,
                 text + ": max |dβ − #(y > 0)| per channel");
  Grads ref = backward_ref(mask, to_double(x), d, to_double(gamma), to_double(mean),
                           to_double(invstd), batch);
  ctx.check("dx", text, dx.to_host(), ref.dx, kBackwardTolerance);
}

}  // namespace

VKT_CASE("batch_norm2d", "training_odd") {
  check_training(ctx, "", {3, 5, 7, 9}, true);
}
VKT_CASE("batch_norm2d", "training_n1") {
  check_training(ctx, "", {1, 4, 5, 3}, true);
}
// A fused ReLU: odd planes (the scalar paths), whole fours (vec4 paths), several chunks, and
// (N, C) columns.
VKT_CASE("batch_norm2d", "relu_odd") {
  check_training(ctx, "", {3, 5, 7, 9}, true, 0.0f, true);
}
VKT_CASE("batch_norm2d", "relu_vec4") {
  check_training(ctx, "", {3, 6, 4, 6}, true, 0.0f, true);
}
VKT_CASE("batch_norm2d", "relu_chunked_no_affine") {
  check_training(ctx, "", {2, 3, 61, 61}, false, 0.0f, true);
}
VKT_CASE("batch_norm1d", "relu_columns") {
  check_training(ctx, "", {9, 37}, true, 0.0f, true);
}
VKT_CASE("batch_norm2d", "relu_mask_at_zero") {
  check_relu_mask_at_zero(ctx, {3, 5, 7, 9}, true);   // scalar paths
  check_relu_mask_at_zero(ctx, {4, 3, 4, 4}, true);   // vec4 paths
  check_relu_mask_at_zero(ctx, {3, 5, 7, 9}, false);  // eval
}
VKT_CASE("batch_norm1d", "relu_mask_at_zero") {
  check_relu_mask_at_zero(ctx, {9, 37}, true);
  check_relu_mask_at_zero(ctx, {9, 37}, false);
}
VKT_CASE("batch_norm2d", "training_no_affine") {
  check_training(ctx, "", {2, 3, 5, 7}, false);
}
// 2·61·61 = 7442 values per channel: more than one chunk, merged by Chan's formula.
VKT_CASE("batch_norm2d", "training_chunked") {
  check_training(ctx, "", {2, 3, 61, 61}, true);
}
// CPU devices read the reductions through uniform-buffer windows of 64 KiB, one run (an image's
// plane) of adjacent channels each (lib/ops/norm_kernels.cpp): 4096-float planes put four channels
// in a window, so six make two row blocks, the second partial; 300 images make 43 chunks of up to
// seven runs, the last of six.
VKT_CASE("batch_norm2d", "windows_row_blocks") {
  check_training(ctx, "", {3, 6, 64, 64}, true, 0.0f, true);
}
VKT_CASE("batch_norm2d", "windows_many_runs") {
  check_training(ctx, "", {300, 3, 2, 2}, true);
}
VKT_CASE("batch_norm2d", "large_offset") {
  check_training(ctx, "", {3, 5, 7, 9}, true, 1000.0f);
}
// Five channels: dγ = Σdy·x̂ carries an absolute error of ~1e-4·|Σdy| from the mean here, which is
// relative to ‖dγ‖ only while not every channel's dγ happens to be near zero.
VKT_CASE("batch_norm2d", "large_offset_chunked") {
  check_training(ctx, "", {2, 5, 67, 59}, true, 1000.0f);
}
VKT_CASE("batch_norm1d", "training_2d_input") {
  check_training(ctx, "", {17, 6}, true);
}
VKT_CASE("batch_norm1d", "training_3d_input") {
  check_training(ctx, "", {4, 3, 11}, true);
}
VKT_CASE("batch_norm1d", "training_two_rows") {
  check_training(ctx, "", {2, 9}, false);
}
// (N, C) with C >= 32 takes the column variant (32 adjacent channels per workgroup): a partial tile
// of 5, and 300 rows in three chunks.
VKT_CASE("batch_norm1d", "training_columns") {
  check_training(ctx, "", {9, 37}, true);
}
VKT_CASE("batch_norm1d", "training_columns_chunked") {
  check_training(ctx, "", {300, 40}, true);
}

VKT_CASE("batch_norm2d", "running_stats_momentum") {
  check_running(ctx, {3, 5, 7, 9}, 0.1f, 3);
}
VKT_CASE("batch_norm2d", "running_stats_cumulative") {
  check_running(ctx, {3, 5, 7, 9}, std::nullopt, 3);
}
VKT_CASE("batch_norm1d", "running_stats_momentum") {
  check_running(ctx, {17, 6}, 0.3f, 3);
}
VKT_CASE("batch_norm1d", "running_stats_columns") {
  check_running(ctx, {300, 40}, 0.1f, 3);
}
// 2·200·200 = 80,000 values a channel: five chunks or more on every device, merged by a workgroup
// a channel (fewer chunks take an invocation a channel). Six channels: with two it failed once in
// ~40 runs, most likely the eval backward's dγ (the check with the least margin, 6e-7 of 1e-5)
// with both channels' dγ near zero at once, as large_offset_chunked explains.
VKT_CASE("batch_norm2d", "running_stats_many_chunks") {
  check_running(ctx, {2, 6, 200, 200}, 0.1f, 2);
}
VKT_CASE("batch_norm1d", "running_stats_cumulative") {
  check_running(ctx, {4, 3, 11}, std::nullopt, 3);
}

VKT_CASE("batch_norm2d", "captured_step") {
  // One training step captured, replayed three times on the same batch: the running statistics and
  // the cumulative factor (read from the device counter, which starts at 2) advance on each replay.
  const Shape shape{2, 3, 5, 4};
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), -1.0f, 2.0f);
  std::vector<float> rm0 = ctx.uniform(size_t(d.c)), rv0 = ctx.uniform(size_t(d.c), 0.5f, 1.5f);
  Tensor tx = ctx.upload(x, shape), y = ctx.poisoned(shape);
  Tensor running_mean = ctx.upload(rm0, {d.c}), running_var = ctx.upload(rv0, {d.c});
  uint32_t two[] = {2};
  Tensor batches = Tensor::from_host(ctx.device, std::span<const uint32_t>(two), {1});
  Tensor save_mean = ctx.poisoned({d.c}), save_invstd = ctx.poisoned({d.c});
  Scheduler& scheduler = ctx.device.scheduler();
  scheduler.flush();
  Sequence step = scheduler.capture([&] {
    batch_norm_forward(tx, {}, {}, running_mean, running_var, batches, save_mean, save_invstd, y,
                       {.momentum = std::nullopt});
  });
  for (int i = 0; i < 3; ++i) scheduler.replay(step);
  std::vector<double> xd = to_double(x), rm = to_double(rm0), rv = to_double(rv0);
  Stats st = batch_stats(xd, d);
  for (int k = 3; k <= 5; ++k)
    for (size_t c = 0; c < size_t(d.c); ++c) {
      rm[c] += (st.mean[c] - rm[c]) / k;
      rv[c] += (st.var[c] * double(d.m()) / double(d.m() - 1) - rv[c]) / k;
    }
  std::string text = shapes({shape});
  ctx.check("running_mean", text, running_mean.to_host(), rm, kForwardTolerance);
  ctx.check("running_var", text, running_var.to_host(), rv, kForwardTolerance);
  ctx.check("y", text, y.to_host(), normalize(xd, d, st.mean, invstd_of(st.var, 1e-5), {}, {}),
            kForwardTolerance);
  uint32_t five[] = {5};
  ctx.check_equal("num_batches_tracked", text, batches.to_host_u32(), five);
}

VKT_CASE("batch_norm2d", "no_running_stats_eval") {
  // track_running_stats=False: eval normalizes with batch statistics too.
  const Shape shape{3, 4, 5, 3};
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  std::vector<float> gamma = ctx.uniform(size_t(d.c)), beta = ctx.uniform(size_t(d.c));
  auto out = batch_norm(ctx.upload(x, shape), ctx.upload(gamma, {d.c}), ctx.upload(beta, {d.c}), {},
                        {}, {}, {.training = false});
  ctx.check("", shapes({shape}), out.y.to_host(),
            forward_ref(to_double(x), d, to_double(gamma), to_double(beta), 1e-5),
            kForwardTolerance);
  ctx.check_that("uses_batch_stats", batch_norm_uses_batch_stats({.training = false}, Tensor{}), 0,
                 0);
}

VKT_CASE("batch_norm2d", "eval_no_saved_stats") {
  // Inference: no saved statistics wanted, eps other than the default.
  const Shape shape{2, 3, 4, 5};
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  std::vector<float> rm = ctx.uniform(size_t(d.c)), rv = ctx.uniform(size_t(d.c), 0.1f, 2.0f);
  Tensor y = ctx.poisoned(shape);
  batch_norm_forward(ctx.upload(x, shape), {}, {}, ctx.upload(rm, {d.c}), ctx.upload(rv, {d.c}), {},
                     {}, {}, y, {.eps = 1e-3f, .training = false});
  ctx.check("", shapes({shape}), y.to_host(),
            normalize(to_double(x), d, to_double(rm), invstd_of(to_double(rv), 1e-3), {}, {}),
            kForwardTolerance);
}

VKT_CASE("batch_norm2d", "empty_batch") {
  // N = 0: nothing to normalize, and the running statistics and counter stay as they were.
  std::vector<float> rm = ctx.uniform(3), rv = ctx.uniform(3, 0.5f, 1.5f);
  Tensor running_mean = ctx.upload(rm, {3}), running_var = ctx.upload(rv, {3});
  uint32_t seven[] = {7};
  Tensor batches = Tensor::from_host(ctx.device, std::span<const uint32_t>(seven), {1});
  Tensor x = Tensor::empty(ctx.device, {0, 3, 2, 2});
  (void)batch_norm(x, {}, {}, running_mean, running_var, batches);
  ctx.check("running_mean", shapes({{0, 3, 2, 2}}), running_mean.to_host(), to_double(rm), 0.0);
  ctx.check("running_var", shapes({{0, 3, 2, 2}}), running_var.to_host(), to_double(rv), 0.0);
  ctx.check_equal("num_batches_tracked", "", batches.to_host_u32(), seven);
}

VKT_CASE("batch_norm2d", "gradcheck_reference") {
  // The float64 reference backward against central differences of the reference forward.
  const Shape shape{3, 2, 2, 3};
  Dims d = dims_of(shape);
  std::vector<double> x = to_double(ctx.uniform(size_t(shape_numel(shape))));
  std::vector<double> gamma = to_double(ctx.uniform(size_t(d.c), 0.5f, 1.5f));
  std::vector<double> beta = to_double(ctx.uniform(size_t(d.c)));
  std::vector<double> dy = to_double(ctx.uniform(x.size()));
  Stats st = batch_stats(x, d);
  for (bool batch : {true, false}) {
    // Eval: the statistics are fixed constants (those of x here).
    std::vector<double> invstd = invstd_of(st.var, 1e-5);
    Grads g = backward_ref(dy, x, d, gamma, st.mean, invstd, batch);
    auto y_of = [&](const std::vector<double>& xv, const std::vector<double>& gv,
                    const std::vector<double>& bv) {
      if (batch) return forward_ref(xv, d, gv, bv, 1e-5);
      return normalize(xv, d, st.mean, invstd, gv, bv);
    };
    std::string mode = batch ? "training_" : "eval_";
    check_gradient(
        ctx, mode + "dx",
        [&](const std::vector<double>& v) { return weighted_sum(y_of(v, gamma, beta), dy); }, x,
        g.dx);
    check_gradient(
        ctx, mode + "dgamma",
        [&](const std::vector<double>& v) { return weighted_sum(y_of(x, v, beta), dy); }, gamma,
        g.dgamma);
    check_gradient(
        ctx, mode + "dbeta",
        [&](const std::vector<double>& v) { return weighted_sum(y_of(x, gamma, v), dy); }, beta,
        g.dbeta);
  }
}

VKT_CASE("batch_norm2d", "backward_parts") {
  // Only some gradients wanted: dx alone, and dgamma alone.
  const Shape shape{2, 3, 3, 5};
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape))), dy = ctx.uniform(x.size());
  std::vector<float> gamma = ctx.uniform(size_t(d.c));
  Tensor tx = ctx.upload(x, shape), tdy = ctx.upload(dy, shape), tgamma = ctx.upload(gamma, {d.c});
  auto out = batch_norm(tx, tgamma, {}, {}, {}, {});
  Stats st = batch_stats(to_double(x), d);
  Grads ref = backward_ref(to_double(dy), to_double(x), d, to_double(gamma), st.mean,
                           invstd_of(st.var, 1e-5), true);
  Tensor dx = ctx.poisoned(shape), dgamma = ctx.poisoned({d.c});
  batch_norm_backward(tdy, tx, tgamma, out.save_mean, out.save_invstd, dx, {}, {});
  batch_norm_backward(tdy, tx, tgamma, out.save_mean, out.save_invstd, {}, dgamma, {});
  ctx.check("dx_only", shapes({shape}), dx.to_host(), ref.dx, kBackwardTolerance);
  ctx.check("dgamma_only", shapes({shape}), dgamma.to_host(), ref.dgamma, kBackwardTolerance);
}

VKT_CASE("batch_norm2d", "fold") {
  // Eval-mode BN as y = x·scale + shift, and folded into the linear and conv layers before it.
  const int64_t c = 6;
  std::vector<float> gamma = ctx.uniform(c, 0.5f, 1.5f), beta = ctx.uniform(c);
  std::vector<float> rm = ctx.uniform(c), rv = ctx.uniform(c, 0.2f, 2.0f);
  Tensor tgamma = ctx.upload(gamma, {c}), tbeta = ctx.upload(beta, {c});
  Tensor trm = ctx.upload(rm, {c}), trv = ctx.upload(rv, {c});
  const float eps = 1e-5f;
  BatchNormFold fold{ctx.poisoned({c}), ctx.poisoned({c})};
  batch_norm_fold_into(tgamma, tbeta, trm, trv, eps, fold.scale, fold.shift);
  std::vector<double> scale(c), shift(c);
  for (size_t i = 0; i < size_t(c); ++i) {
    scale[i] = gamma[i] / std::sqrt(double(rv[i]) + eps);
    shift[i] = beta[i] - rm[i] * scale[i];
  }
  ctx.check("scale", shapes({{c}}), fold.scale.to_host(), scale, kForwardTolerance);
  ctx.check("shift", shapes({{c}}), fold.shift.to_host(), shift, kForwardTolerance);

  // Eval BN output equals the affine map with the GPU's scale and shift.
  const Shape shape{3, c, 4, 5};
  Dims d = dims_of(shape);
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  Tensor y = ctx.poisoned(shape);
  batch_norm_forward(ctx.upload(x, shape), tgamma, tbeta, trm, trv, {}, {}, {}, y,
                     {.eps = eps, .training = false});
  std::vector<float> gpu_scale = fold.scale.to_host(), gpu_shift = fold.shift.to_host();
  std::vector<double> affine(x.size());
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < d.s; ++s) {
        size_t i = d.at(n, ch, s);
        affine[i] = double(x[i]) * gpu_scale[size_t(ch)] + gpu_shift[size_t(ch)];
      }
  ctx.check("eval_equals_affine", shapes({shape}), y.to_host(), affine, kForwardTolerance);

  // Linear (in 13 → out 6) then BN eval, against the folded linear layer; with and without bias.
  const int64_t rows = 7, in = 13;
  std::vector<float> xl = ctx.uniform(size_t(rows * in)), w = ctx.uniform(size_t(c * in));
  std::vector<float> b = ctx.uniform(c);
  Tensor txl = ctx.upload(xl, {rows, in}), tw = ctx.upload(w, {c, in}), tb = ctx.upload(b, {c});
  for (bool with_bias : {true, false}) {
    Tensor bias = with_bias ? tb : Tensor{};
    Tensor z = matmul(txl, tw, {.transpose_b = true}, bias);
    Tensor bn = ctx.poisoned({rows, c});
    batch_norm_forward(z, tgamma, tbeta, trm, trv, {}, {}, {}, bn, {.eps = eps, .training = false});
    FoldedLayer folded{ctx.poisoned({c, in}), ctx.poisoned({c})};
    batch_norm_fold_weights_into(tw, bias, fold, folded.weight, folded.bias);
    Tensor yf = matmul(txl, folded.weight, {.transpose_b = true}, folded.bias);
    ctx.check(with_bias ? "linear_folded" : "linear_folded_no_bias", shapes({{rows, in}, {c, in}}),
              yf.to_host(), to_double(bn.to_host()), kForwardTolerance);
  }

  // Conv (C_in 3 → C_out 6, 3x2 kernel, valid) then BN eval, in float64 from the GPU-folded
  // weights.
  const int64_t cin = 3, kh = 3, kw = 2, h = 6, wd = 5, oh = h - kh + 1, ow = wd - kw + 1, n = 2;
  std::vector<float> xc = ctx.uniform(size_t(n * cin * h * wd)),
                     wc = ctx.uniform(size_t(c * cin * kh * kw));
  std::vector<float> bc = ctx.uniform(c);
  auto folded =
      batch_norm_fold_weights(ctx.upload(wc, {c, cin, kh, kw}), ctx.upload(bc, {c}), fold);
  std::vector<float> fw = folded.weight.to_host(), fb = folded.bias.to_host();
  auto conv = [&](const std::vector<float>& weight, int64_t i, int64_t o, int64_t y0, int64_t x0) {
    double s = 0;
    for (int64_t ci = 0; ci < cin; ++ci)
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx)
          s += double(xc[size_t(((i * cin + ci) * h + y0 + ky) * wd + x0 + kx)]) *
               weight[size_t(((o * cin + ci) * kh + ky) * kw + kx)];
    return s;
  };
  std::vector<double> bn_of_conv, folded_conv;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < c; ++o)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          double z = conv(wc, i, o, y0, x0) + bc[size_t(o)];
          bn_of_conv.push_back((z - rm[size_t(o)]) / std::sqrt(double(rv[size_t(o)]) + eps) *
                                   gamma[size_t(o)] +
                               beta[size_t(o)]);
          folded_conv.push_back(conv(fw, i, o, y0, x0) + fb[size_t(o)]);
        }
  std::vector<float> folded_f(folded_conv.begin(), folded_conv.end());
  ctx.check("conv_folded", shapes({{n, cin, h, wd}, {c, cin, kh, kw}}), folded_f, bn_of_conv,
            kForwardTolerance);
}

VKT_CASE("batch_norm2d", "bad_arguments") {
  Tensor x = ctx.poisoned({2, 5, 3, 3}), y = ctx.poisoned({2, 5, 3, 3});
  Tensor c5 = ctx.poisoned({5}), c4 = ctx.poisoned({4});
  ctx.check_error("one_value_per_channel",
                  [&] {
                    (void)batch_norm(ctx.poisoned({1, 5}), {}, {}, {}, {}, {});
                  },
                  {"batch_norm", "Expected more than 1 value per channel when training", "(1, 5)"});
  ctx.check_error("one_value_per_channel_3d",
                  [&] {
                    (void)batch_norm(ctx.poisoned({1, 5, 1, 1}), {}, {}, c5, c5, {});
                  },
                  {"batch_norm", "Expected more than 1 value per channel", "(1, 5, 1, 1)"});
  ctx.check_error("gamma_shape", [&] { batch_norm_forward(x, c4, c5, {}, {}, {}, {}, {}, y); },
                  {"batch_norm", "gamma", "(4,)", "expected (5,)"});
  ctx.check_error("running_var_missing",
                  [&] { batch_norm_forward(x, c5, c5, c5, {}, {}, {}, {}, y); },
                  {"batch_norm", "running_mean and running_var"});
  ctx.check_error("cumulative_needs_counter",
                  [&] {
                    batch_norm_forward(x, c5, c5, c5, ctx.poisoned({5}), {}, {}, {}, y,
                                       {.momentum = std::nullopt});
                  },
                  {"batch_norm", "num_batches_tracked"});
  ctx.check_error("counter_dtype",
                  [&] { batch_norm_forward(x, c5, c5, c5, ctx.poisoned({5}), c5, {}, {}, y); },
                  {"batch_norm", "num_batches_tracked", "float32", "expected uint32"});
  ctx.check_error("y_shape",
                  [&] {
                    batch_norm_forward(x, c5, c5, {}, {}, {}, {}, {}, ctx.poisoned({2, 5, 9}));
                  },
                  {"batch_norm", "(2, 5, 3, 3)", "(2, 5, 9)"});
  ctx.check_error("rank", [&] { (void)batch_norm(ctx.poisoned({7}), {}, {}, {}, {}, {}); },
                  {"batch_norm", "(7,)", "(N, C)"});
  ctx.check_error("backward_saved_shape", [&] { (void)batch_norm_backward(x, x, c5, c4, c5); },
                  {"batch_norm", "save_mean", "(4,)", "expected (5,)"});
  ctx.check_error("backward_relu_beta_shape",
                  [&] { (void)batch_norm_backward(x, x, c5, c5, c5, true, FusedRelu{c4}); },
                  {"batch_norm", "relu.beta", "(4,)", "expected (5,)"});
  ctx.check_error("fold_weight_channels",
                  [&] {
                    (void)batch_norm_fold_weights(ctx.poisoned({4, 3}), {}, {c5, c5});
                  },
                  {"batch_norm_fold_weights", "scale", "(5,)", "expected (4,)"});
}
