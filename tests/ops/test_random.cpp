// Random fills (uniform_fill, normal_fill) and gaussian_noise against the CPU Philox stream
// (include/vktrain/philox.hpp), plus statistical bounds on large fills.
#include <algorithm>
#include <cmath>

#include "conformance.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// Uniform fills: lo + (hi − lo)·u in float32, one or two roundings (an fma or not) per element.
constexpr double kUniformTolerance = 3e-7;
// Normals: relative L2 error vs float64 Box–Muller on the same words. Vulkan only guarantees
// sin/cos to 2^-11 absolute on [-π, π] (log and sqrt to a few ulp), so a conforming device may be
// off by r·2^-11 per element: RMS sqrt(E[r²])·2^-11 = sqrt(2)·2^-11 ≈ 7e-4 relative to RMS(z) = 1.
// Drivers do far better (lavapipe: ~1e-7); a wrong word, pair or cos/sin is off by O(1).
constexpr double kNormalTolerance = 1e-3;

Tensor step_tensor(Context& ctx, uint32_t value) {
  uint32_t words[] = {value};
  return Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
}

std::vector<double> cpu_normals(size_t n, uint64_t seed, uint32_t stream, uint32_t step) {
  std::vector<double> z(n);
  for (size_t i = 0; i < n; ++i) z[i] = philox::normal(seed, stream, step, i);
  return z;
}

}  // namespace

VKT_CASE("uniform_fill", "matches_cpu_stream") {
  for (int64_t n : {1, 6, 1003}) {
    uint64_t seed = ctx.rng();
    uint32_t stream = uint32_t(ctx.rng() % 100);
    const float lo = -0.75f, hi = 2.25f;
    Tensor t = ctx.poisoned({n});
    uniform_fill(t, lo, hi, seed, stream);
    std::vector<double> ref(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      ref[size_t(i)] =
          lo + (double(hi) - lo) * philox::uniform(philox::bits(seed, stream, 0, uint64_t(i)));
    std::vector<float> got = t.to_host();
    ctx.check("n" + std::to_string(n), shapes({{n}}), got, ref, kUniformTolerance);
    bool in_range = std::all_of(got.begin(), got.end(), [&](float v) { return v >= lo && v < hi; });
    ctx.check_that("n" + std::to_string(n) + "_range", in_range, 0, 0, "all in [lo, hi)");
  }
}

VKT_CASE("uniform_fill", "statistics_and_bounds") {
  // Mean of 1,000,003 uniforms on [lo, hi) within 5 sigmas, sigma = (hi − lo) / sqrt(12 n).
  const int64_t n = 1000003;
  const float lo = -3.0f, hi = 5.0f;
  Tensor t = ctx.poisoned({n});
  uniform_fill(t, lo, hi, ctx.rng(), 1);
  std::vector<float> values = t.to_host();
  double sum = 0;
  float smallest = values[0], largest = values[0];
  for (float v : values) {
    sum += v;
    smallest = std::min(smallest, v);
    largest = std::max(largest, v);
  }
  double deviation = std::fabs(sum / double(n) - 1.0);
  double bound = 5.0 * (hi - lo) / std::sqrt(12.0 * double(n));
  ctx.check_that("mean", deviation <= bound, deviation, bound);
  bool in_range = smallest >= lo && largest < hi;
  ctx.check_that("range", in_range, in_range ? 0 : 1, 0,
                 "min " + std::to_string(smallest) + ", max " + std::to_string(largest));
  // A range one ulp wide: lo + (hi − lo)·u rounds to hi for u near 1; the clamp keeps it out.
  const float one_ulp_hi = std::nextafter(1.0f, 2.0f);
  Tensor narrow = ctx.poisoned({4001});
  uniform_fill(narrow, 1.0f, one_ulp_hi, ctx.rng());
  std::vector<float> got = narrow.to_host();
  ctx.check("one_ulp_range", "(4001,)", got, std::vector<double>(got.size(), 1.0), 0.0);
  Tensor same = ctx.poisoned({9});
  uniform_fill(same, 0.5f, 0.5f, 3);
  ctx.check("lo_equals_hi", "(9,)", same.to_host(), std::vector<double>(9, 0.5), 0.0);
  ctx.check_error("lo_above_hi", [&] { uniform_fill(same, 1.0f, 0.0f, 3); },
                  {"uniform_fill", "lo <= hi"});
  ctx.check_error("wrong_dtype",
                  [&] { uniform_fill(Tensor::empty(ctx.device, {3}, DType::u32), 0, 1, 3); },
                  {"uniform_fill", "uint32", "float32"});
}

VKT_CASE("normal_fill", "matches_cpu_box_muller") {
  for (int64_t n : {1, 3, 1003}) {
    uint64_t seed = ctx.rng();
    uint32_t stream = uint32_t(ctx.rng() % 100);
    Tensor t = ctx.poisoned({n});
    normal_fill(t, 0.0f, 1.0f, seed, stream);
    ctx.check("standard_n" + std::to_string(n), shapes({{n}}), t.to_host(),
              cpu_normals(size_t(n), seed, stream, 0), kNormalTolerance);
  }
  uint64_t seed = ctx.rng();
  Tensor t = ctx.poisoned({7, 143});
  normal_fill(t, 0.5f, 2.0f, seed, 4);
  std::vector<double> ref = cpu_normals(1001, seed, 4, 0);
  for (double& v : ref) v = 0.5 + 2.0 * v;
  ctx.check("mean_std", "(7, 143)", t.to_host(), ref, kNormalTolerance);
  // Seed 12121362 (found by a CPU search) gives block 0 of stream 0 a first word below 2^8: u1
  // would be 0 without the +1, and ln 0 = −inf. Elements 0 and 1 have r = sqrt(48 ln 2) ≈ 5.77.
  const uint64_t kZeroWordSeed = 12121362;
  ctx.check_that("zero_word_seed", (philox::bits(kZeroWordSeed, 0, 0, 0) >> 8) == 0, 0, 0,
                 "the seed's first word has 24 zero top bits");
  Tensor edge = ctx.poisoned({4});
  normal_fill(edge, 0.0f, 1.0f, kZeroWordSeed, 0);
  ctx.check("u1_zero_word", "(4,)", edge.to_host(), cpu_normals(4, kZeroWordSeed, 0, 0),
            kNormalTolerance);
  ctx.check_error("negative_std", [&] { normal_fill(t, 0.0f, -1.0f, 1); },
                  {"normal_fill", "std >= 0", "-1"});
}

VKT_CASE("normal_fill", "statistics") {
  // 1,000,003 samples of N(mean, std²): the sample mean within 5·std/sqrt(n), the sample variance
  // within 5·std²·sqrt(2/n), and the fraction within one std of the mean (0.682689) within 5
  // binomial sigmas (a shape check a wrong Box–Muller, e.g. a missing sqrt, fails).
  const int64_t n = 1000003;
  const double mean = -1.5, std_dev = 0.25;
  Tensor t = ctx.poisoned({n});
  normal_fill(t, float(mean), float(std_dev), ctx.rng(), 2);
  std::vector<float> values = t.to_host();
  double sum = 0, sum2 = 0;
  size_t within = 0;
  for (float v : values) {
    double z = (double(v) - mean) / std_dev;
    sum += z;
    sum2 += z * z;
    within += std::fabs(z) < 1.0;
  }
  double sample_mean = sum / double(n);
  double sample_var = sum2 / double(n) - sample_mean * sample_mean;
  double mean_bound = 5.0 / std::sqrt(double(n)), var_bound = 5.0 * std::sqrt(2.0 / double(n));
  ctx.check_that("mean", std::fabs(sample_mean) <= mean_bound, std::fabs(sample_mean), mean_bound,
                 "in units of std");
  ctx.check_that("variance", std::fabs(sample_var - 1.0) <= var_bound, std::fabs(sample_var - 1.0),
                 var_bound, "in units of std²");
  const double p1 = 0.6826894921370859;
  double frac_dev = std::fabs(double(within) / double(n) - p1);
  double frac_bound = 5.0 * std::sqrt(p1 * (1.0 - p1) / double(n));
  ctx.check_that("within_one_std", frac_dev <= frac_bound, frac_dev, frac_bound);
  bool finite = std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
  ctx.check_that("finite", finite, 0, 0, "log never sees 0");
}

VKT_CASE("gaussian_noise", "forward_matches_cpu") {
  const Shape shape{5, 1, 201};  // 1005 elements: the last block is partial
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n);
  NoiseParams params{.sigma = 0.3f, .seed = ctx.rng(), .stream = 2};
  Tensor tx = ctx.upload(x, shape), y = ctx.poisoned(shape);
  gaussian_noise_forward(tx, step_tensor(ctx, 12), y, params);
  std::vector<double> z = cpu_normals(n, params.seed, 2, 12), ref(n);
  for (size_t i = 0; i < n; ++i) ref[i] = x[i] + 0.3 * z[i];
  ctx.check("", shapes({shape}), y.to_host(), ref, kNormalTolerance);
  // The noise alone (y − x) / sigma, where a wrong normal cannot hide behind x.
  std::vector<float> got = y.to_host(), noise(n);
  for (size_t i = 0; i < n; ++i) noise[i] = (got[i] - x[i]) / 0.3f;
  ctx.check("noise_term", shapes({shape}), noise, z, kNormalTolerance);
}

VKT_CASE("gaussian_noise", "captured_steps_identity_backward") {
  const Shape shape{3, 77};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n);
  NoiseParams params{.sigma = 0.05f, .seed = ctx.rng(), .stream = 9};
  Tensor tx = ctx.upload(x, shape), y = ctx.poisoned(shape), step = step_tensor(ctx, 0);
  Scheduler& scheduler = ctx.device.scheduler();
  Sequence sequence = scheduler.capture([&] {
    gaussian_noise_forward(tx, step, y, params);
    increment(step);
  });
  for (uint32_t s = 0; s < 3; ++s) {
    scheduler.replay(sequence);
    std::vector<double> z = cpu_normals(n, params.seed, 9, s), ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = x[i] + 0.05 * z[i];
    ctx.check("step" + std::to_string(s), shapes({shape}), y.to_host(), ref, kNormalTolerance);
  }
  NoiseParams eval = params;
  eval.training = false;
  y = ctx.poisoned(shape);
  gaussian_noise_forward(tx, step, y, eval);
  ctx.check("eval_identity", shapes({shape}), y.to_host(), to_double(x), 0.0);
  NoiseParams silent = params;
  silent.sigma = 0.0f;
  y = ctx.poisoned(shape);
  gaussian_noise_forward(tx, step, y, silent);
  ctx.check("sigma0_identity", shapes({shape}), y.to_host(), to_double(x), 0.0);
  Tensor dx = ctx.poisoned(shape);
  gaussian_noise_backward(tx, dx);
  ctx.check("backward_identity", shapes({shape}), dx.to_host(), to_double(x), 0.0);
  ctx.check_error("negative_sigma", [&] { gaussian_noise_forward(tx, step, y, {.sigma = -1.0f}); },
                  {"gaussian_noise", "sigma", "-1"});
  ctx.check_error("shape_mismatch",
                  [&] {
                    gaussian_noise_forward(tx, step, ctx.poisoned({77, 3}), params);
                  },
                  {"gaussian_noise", "(3, 77)", "(77, 3)"});
}
