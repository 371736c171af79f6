// dropout and drop_connect: outputs equal to the CPU Philox mask (include/vktrain/philox.hpp) times
// x / (1 − p), mask statistics, reproducibility, step/stream independence, captured replays, the
// identity and all-zero cases, backward, and argument errors.
#include <cmath>

#include "conformance.hpp"
#include "gradcheck.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// Relative L2 error of y vs x·m/(1 − p) in float64: the kernel rounds twice, scale = fl(1/(1 − p))
// and fl(x · scale): at most ~2 ulp (2^-23) per kept element.
constexpr double kTolerance = 2.5e-7;

Tensor step_tensor(Context& ctx, uint32_t value) {
  uint32_t words[] = {value};
  return Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
}

// The reference mask, written from the documented rule (philox.hpp): keep iff the element's
// 16-bit uniform, bits · 2^-16, is >= p — in float64, not through dropout_threshold.
std::vector<bool> cpu_mask(size_t n, const DropoutParams& params, uint32_t step) {
  std::vector<bool> keep(n);
  for (size_t i = 0; i < n; ++i)
    keep[i] = double(philox::dropout_bits(params.seed, params.stream, step, i)) / 65536.0 >=
              double(params.p);
  return keep;
}

std::vector<double> masked(const std::vector<float>& x, const std::vector<bool>& keep, double p) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = keep[i] ? double(x[i]) / (1.0 - p) : 0.0;
  return y;
}

DropoutParams random_params(Context& ctx, float p) {
  return {.p = p, .seed = ctx.rng(), .stream = uint32_t(ctx.rng() % 64), .training = true};
}

// Which elements the GPU kept (nonzero outputs of a nonzero input).
std::vector<bool> kept(const std::vector<float>& y) {
  std::vector<bool> keep(y.size());
  for (size_t i = 0; i < y.size(); ++i) keep[i] = y[i] != 0.0f;
  return keep;
}

}  // namespace

VKT_CASE("dropout", "forward_matches_cpu_mask") {
  // 3003 elements: the last block is partial (the scalar kernel); 2772: whole blocks of four on
  // 16 bytes (the vec4 kernel, vec4_whole), an odd count of them (the last Philox block half
  // used); 241860: on CPU devices two windowed dispatches, the second's counters offset by the
  // first's blocks, its block count odd.
  for (const Shape& shape : {Shape{3, 7, 11, 13}, Shape{3, 7, 11, 12}, Shape{3, 4, 139, 145}}) {
    size_t n = size_t(shape_numel(shape));
    for (float p : {0.1f, 0.37f, 0.5f, 0.9f}) {
      std::vector<float> x = ctx.uniform(n);
      DropoutParams params = random_params(ctx, p);
      uint32_t step = uint32_t(ctx.rng());
      Tensor y = ctx.poisoned(shape);
      dropout_forward(ctx.upload(x, shape), step_tensor(ctx, step), y, params);
      ctx.check("p" + std::to_string(p).substr(0, 4), shapes({shape}), y.to_host(),
                masked(x, cpu_mask(n, params, step), p), kTolerance);
    }
  }
  const Shape shape{3, 7, 11, 13};
  size_t n = size_t(shape_numel(shape));
  // The allocating form and in place.
  std::vector<float> x = ctx.uniform(n);
  DropoutParams params = random_params(ctx, 0.25f);
  Tensor step = step_tensor(ctx, 11);
  auto ref = masked(x, cpu_mask(n, params, 11), 0.25);
  ctx.check("allocating", shapes({shape}), dropout(ctx.upload(x, shape), step, params).to_host(),
            ref, kTolerance);
  Tensor inplace = ctx.upload(x, shape);
  dropout_forward(inplace, step, inplace, params);
  ctx.check("in_place", shapes({shape}), inplace.to_host(), ref, kTolerance);
}

VKT_CASE("dropout", "stores_stay_in_bounds") {
  // An invocation takes two blocks of four: where the count of blocks is odd its second block is
  // past the end and must not be stored. y is a view of a longer poisoned buffer; the eight floats
  // after it stay NaN. 2772 elements (693 blocks): the vec4 kernel; 241860 (60465 blocks): on CPU
  // devices two windowed dispatches, the second's last pair half used. (lavapipe bounds-checks
  // every storage-buffer access and drops such a store itself; GPU drivers without robustness do
  // not.)
  for (int64_t n : {int64_t(2772), int64_t(241860)}) {
    std::vector<float> x = ctx.uniform(size_t(n));
    DropoutParams params = random_params(ctx, 0.5f);
    Tensor longer = ctx.poisoned({n + 8});
    dropout_forward(ctx.upload(x, {n}), step_tensor(ctx, 9), longer.narrow(0, n), params);
    std::vector<float> all = longer.to_host();
    std::vector<float> y(all.begin(), all.begin() + n);
    ctx.check("n" + std::to_string(n), shapes({{n}}), y,
              masked(x, cpu_mask(size_t(n), params, 9), 0.5), kTolerance);
    size_t stored = 0;
    for (int64_t i = n; i < n + 8; ++i) stored += !std::isnan(all[size_t(i)]);
    ctx.check_that("n" + std::to_string(n) + "_after_end", stored == 0, double(stored), 0,
                   "floats stored past the end of y");
  }
}

VKT_CASE("dropout", "kept_fraction") {
  // Kept fraction of 1,000,003 elements within 5 binomial sigmas of 1 − p; kept values are exactly
  // fl(1 / (1 − p)).
  const int64_t n = 1000003;
  Tensor ones = Tensor::full(ctx.device, {n}, 1.0f);
  Tensor step = step_tensor(ctx, uint32_t(ctx.rng()));
  for (float p : {0.1f, 0.5f, 0.9f}) {
    std::string label = "p" + std::to_string(p).substr(0, 3);
    Tensor y = ctx.poisoned({n});
    dropout_forward(ones, step, y, random_params(ctx, p));
    std::vector<float> values = y.to_host();
    float scale = 1.0f / (1.0f - p);
    size_t count = 0, other = 0;
    for (float v : values) {
      if (v == scale)
        ++count;
      else if (v != 0.0f)
        ++other;
    }
    double fraction = double(count) / double(n);
    double bound = 5.0 * std::sqrt(double(p) * (1.0 - p) / double(n));
    ctx.check_that(label, std::fabs(fraction - (1.0 - p)) <= bound, std::fabs(fraction - (1.0 - p)),
                   bound, "kept fraction " + std::to_string(fraction));
    ctx.check_that(label + "_values", other == 0, double(other), 0,
                   "outputs neither 0 nor 1/(1-p)");
  }
}

VKT_CASE("dropout", "reproducible_and_independent") {
  // Same (seed, stream, step): identical. Another step, stream or seed: masks that disagree on
  // 2p(1 − p) = 1/2 of the elements (within 5 sigmas), as independent masks do.
  const int64_t n = 4099;
  Tensor ones = Tensor::full(ctx.device, {n}, 1.0f);
  DropoutParams base = random_params(ctx, 0.5f);
  auto mask_of = [&](const DropoutParams& params, uint32_t step) {
    Tensor y = ctx.poisoned({n});
    dropout_forward(ones, step_tensor(ctx, step), y, params);
    return kept(y.to_host());
  };
  std::vector<bool> reference = mask_of(base, 3);
  std::vector<bool> again = mask_of(base, 3);
  ctx.check_that("same_params_identical", reference == again, reference == again ? 0 : 1, 0);
  DropoutParams other_stream = base, other_seed = base;
  other_stream.stream += 1;
  other_seed.seed ^= 1;
  struct Variant {
    const char* name;
    std::vector<bool> mask;
  } variants[] = {{"next_step", mask_of(base, 4)},
                  {"other_stream", mask_of(other_stream, 3)},
                  {"other_seed", mask_of(other_seed, 3)}};
  double bound = 5.0 * std::sqrt(0.25 / double(n));
  for (const Variant& v : variants) {
    size_t differ = 0;
    for (int64_t i = 0; i < n; ++i) differ += reference[size_t(i)] != v.mask[size_t(i)];
    double deviation = std::fabs(double(differ) / double(n) - 0.5);
    ctx.check_that(v.name, deviation <= bound, deviation, bound,
                   std::to_string(differ) + " of " + std::to_string(n) + " elements differ");
  }
}

VKT_CASE("dropout", "captured_step_advances") {
  // A captured step reads the on-device counter: each replay draws the mask of the next step.
  const Shape shape{5, 203};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n);
  Tensor tx = ctx.upload(x, shape), y = ctx.poisoned(shape), step = step_tensor(ctx, 40);
  DropoutParams params = random_params(ctx, 0.3f);
  Scheduler& scheduler = ctx.device.scheduler();
  Sequence sequence = scheduler.capture([&] {
    dropout_forward(tx, step, y, params);
    increment(step);
  });
  for (uint32_t s = 40; s < 43; ++s) {
    scheduler.replay(sequence);
    ctx.check("step" + std::to_string(s), shapes({shape}), y.to_host(),
              masked(x, cpu_mask(n, params, s), 0.3), kTolerance);
  }
}

VKT_CASE("dropout", "identity_and_zeros") {
  const Shape shape{1, 1, 17, 3};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n);
  Tensor tx = ctx.upload(x, shape), step = step_tensor(ctx, 2);
  auto identity = to_double(x);
  Tensor y = ctx.poisoned(shape);
  dropout_forward(tx, step, y, random_params(ctx, 0.0f));
  ctx.check("p0_identity", shapes({shape}), y.to_host(), identity, 0.0);
  y = ctx.poisoned(shape);
  dropout_forward(tx, step, y, random_params(ctx, 1.0f));
  ctx.check("p1_zeros", shapes({shape}), y.to_host(), std::vector<double>(n, 0.0), 0.0);
  DropoutParams eval = random_params(ctx, 0.6f);
  eval.training = false;
  y = ctx.poisoned(shape);
  dropout_forward(tx, step, y, eval);
  ctx.check("eval_identity", shapes({shape}), y.to_host(), identity, 0.0);
  dropout_forward(tx, step, tx, eval);
  ctx.check("eval_in_place", shapes({shape}), tx.to_host(), identity, 0.0);
  Tensor dx = ctx.poisoned(shape);
  dropout_backward(tx, step, dx, eval);
  ctx.check("eval_backward_identity", shapes({shape}), dx.to_host(), identity, 0.0);
}

VKT_CASE("dropout", "backward") {
  const float p = 0.4f;
  // The reference backward by finite differences, on a small shape with a fixed mask.
  {
    const size_t n = 13;
    std::vector<float> dyf = ctx.uniform(n);
    std::vector<double> x = to_double(ctx.uniform(n)), dy = to_double(dyf);
    std::vector<bool> keep = cpu_mask(n, random_params(ctx, p), 0);
    auto forward = [&](const std::vector<double>& v) {
      std::vector<double> y(n);
      for (size_t i = 0; i < n; ++i) y[i] = keep[i] ? v[i] / (1.0 - p) : 0.0;
      return y;
    };
    check_gradient(
        ctx, "reference",
        [&](const std::vector<double>& v) { return weighted_sum(forward(v), dy); }, x,
        masked(dyf, keep, p));
  }
  // The GPU backward regenerates the forward's mask from (seed, stream, step).
  const Shape shape{2, 3, 167};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> x = ctx.uniform(n), dy = ctx.uniform(n);
  DropoutParams params = random_params(ctx, p);
  Tensor step = step_tensor(ctx, 77);
  Tensor y = ctx.poisoned(shape), dx = ctx.poisoned(shape);
  dropout_forward(ctx.upload(x, shape), step, y, params);
  dropout_backward(ctx.upload(dy, shape), step, dx, params);
  std::vector<bool> keep = cpu_mask(n, params, 77);
  ctx.check("dx", shapes({shape}), dx.to_host(), masked(dy, keep, p), kTolerance);
  std::vector<float> gy = y.to_host(), gdx = dx.to_host();
  ctx.check_that("same_mask_as_forward", kept(gy) == kept(gdx), 0, 0);
}

VKT_CASE("dropout", "bad_arguments") {
  Tensor x = ctx.poisoned({4, 5}), step = step_tensor(ctx, 0);
  ctx.check_error("p_above_one",
                  [&] {
                    dropout_forward(x, step, ctx.poisoned({4, 5}), {.p = 1.5f});
                  },
                  {"dropout", "p must be in [0, 1]", "1.5"});
  ctx.check_error("p_negative",
                  [&] {
                    dropout_forward(x, step, ctx.poisoned({4, 5}), {.p = -0.1f});
                  },
                  {"dropout", "p must be in [0, 1]"});
  ctx.check_error("p_nan",
                  [&] {
                    dropout_forward(x, step, ctx.poisoned({4, 5}), {.p = NAN});
                  },
                  {"dropout", "p must be in [0, 1]"});
  ctx.check_error("shape_mismatch",
                  [&] {
                    dropout_forward(x, step, ctx.poisoned({5, 4}), {});
                  },
                  {"dropout", "(4, 5)", "(5, 4)"});
  ctx.check_error("backward_shape_mismatch",
                  [&] { dropout_backward(x, step, ctx.poisoned({20}), {}); },
                  {"dropout", "dy (4, 5)", "dx (20,)"});
  ctx.check_error("step_dtype", [&] { dropout_forward(x, ctx.poisoned({1}), x, {}); },
                  {"dropout", "step", "uint32"});
  ctx.check_error("step_size",
                  [&] { dropout_forward(x, Tensor::zeros(ctx.device, {2}, DType::u32), x, {}); },
                  {"dropout", "step", "(2,)"});
}

VKT_CASE("drop_connect", "forward_backward_match_cpu") {
  // A Linear layer's weight (out, in) masked once per step and shared by the whole batch:
  // y = x · (m ⊙ W / (1 − p))ᵀ for every row of x.
  const int64_t out_features = 37, in_features = 19, batch = 5;
  const Shape wshape{out_features, in_features};
  size_t nw = size_t(out_features * in_features);
  std::vector<float> w = ctx.uniform(nw), x = ctx.uniform(size_t(batch * in_features));
  DropoutParams params = random_params(ctx, 0.3f);
  Tensor step = step_tensor(ctx, 5);
  Tensor masked_w = ctx.poisoned(wshape);
  drop_connect_forward(ctx.upload(w, wshape), step, masked_w, params);
  std::vector<bool> keep = cpu_mask(nw, params, 5);
  std::vector<double> ref_w = masked(w, keep, 0.3);
  ctx.check("weight", shapes({wshape}), masked_w.to_host(), ref_w, kTolerance);

  Tensor y = ctx.poisoned({batch, out_features});
  matmul_into(ctx.upload(x, {batch, in_features}), masked_w, y, {.transpose_b = true});
  std::vector<double> ref_y(size_t(batch * out_features));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < out_features; ++o) {
      double s = 0;
      for (int64_t i = 0; i < in_features; ++i)
        s += double(x[size_t(b * in_features + i)]) * ref_w[size_t(o * in_features + i)];
      ref_y[size_t(b * out_features + o)] = s;
    }
  // Tolerance: the matmul's float32 accumulation (as in test_matmul).
  ctx.check("batch_output", shapes({{batch, in_features}, wshape}), y.to_host(), ref_y, 1e-5);

  std::vector<float> d_out = ctx.uniform(nw);
  Tensor d_weight = ctx.poisoned(wshape);
  drop_connect_backward(ctx.upload(d_out, wshape), step, d_weight, params);
  ctx.check("d_weight", shapes({wshape}), d_weight.to_host(), masked(d_out, keep, 0.3), kTolerance);

  ctx.check_error("bad_p", [&] { drop_connect_forward(masked_w, step, masked_w, {.p = 2.0f}); },
                  {"drop_connect", "p must be in [0, 1]"});
  ctx.check_error("shape_mismatch",
                  [&] {
                    drop_connect_forward(masked_w, step, ctx.poisoned({19, 37}), params);
                  },
                  {"drop_connect", "weight (37, 19)", "out (19, 37)"});
}
