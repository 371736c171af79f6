// Full reductions (sum, mean, sum_squares, sum_abs, l2_norm): one-pass and two-pass sizes against
// float64, empty tensors, bitwise repeatability and argument errors.
#include <cmath>
#include <functional>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

void check_sum(Context& ctx, int64_t n) {
  std::vector<float> x = ctx.uniform(size_t(n));
  Tensor out = ctx.poisoned({1});
  sum_into(ctx.upload(x, {n}), out);
  double ref = 0;
  for (float v : x) ref += v;
  // Tree summation in float32: error grows like log2(n)·eps relative to Σ|x|; uniform inputs in
  // [-1, 1) give |Σx| ~ √n, so bound the error relative to Σ|x| instead of |Σx|.
  double abs_sum = 0;
  for (float v : x) abs_sum += std::abs(v);
  std::vector<float> got = out.to_host();
  double error = std::abs(got[0] - ref) / abs_sum;
  ctx.check_that("n=" + std::to_string(n), error <= 1e-6 && std::isfinite(got[0]), error, 1e-6,
                 "relative to sum |x|");
}

// Σx², Σ|x| and sqrt(Σx²) add non-negative terms, so the float32 error is relative to the result
// itself: Kahan-compensated slices, then a tree of depth ≤ 16 (256 invocations × 256 partials):
// ≤ 18 roundings in the worst case, a few in practice. The tolerance is 1e-6 relative.
constexpr double kNormTolerance = 1e-6;

using Op = std::function<void(const Tensor&, const Tensor&)>;

void check_norms(Context& ctx, int64_t n) {
  // Magnitudes spread over six decades, so small terms must survive next to large ones.
  std::vector<float> x = ctx.uniform(size_t(n));
  for (size_t i = 0; i < x.size(); i += 3) x[i] *= 1000.0f;
  Tensor tx = ctx.upload(x, {n});
  double squares = 0, abs_sum = 0, plain = 0;
  for (float v : x) squares += double(v) * v, abs_sum += std::abs(v), plain += v;
  std::string label = "n=" + std::to_string(n);
  std::string shape = shapes({{n}});
  struct {
    const char* name;
    Op op;
    double ref;
  } cases[] = {{"sum_squares", sum_squares_into, squares},
               {"sum_abs", sum_abs_into, abs_sum},
               {"l2_norm", l2_norm_into, std::sqrt(squares)}};
  for (const auto& c : cases) {
    Tensor out = ctx.poisoned({1});
    c.op(tx, out);
    ctx.check(std::string(c.name) + "/" + label, shape, out.to_host(), std::vector<double>{c.ref},
              kNormTolerance);
  }
  // mean = Σx / n: the sum's error is relative to Σ|x| (see check_sum), so compare to that scale.
  float mean_gpu = mean(tx).to_host()[0];
  double error = std::abs(mean_gpu - plain / double(n)) / (abs_sum / double(n));
  ctx.check_that("mean/" + label, error <= 1e-6, error, 1e-6, "relative to mean |x|");
}

}  // namespace

VKT_CASE("sum", "sizes") {
  for (int64_t n : {1, 7, 255, 256, 257, 65537, 1000003}) check_sum(ctx, n);
}

VKT_CASE("sum_squares", "sizes_and_norms") {
  // One workgroup (≤ 256), two passes, and the largest partial count.
  for (int64_t n : {1, 7, 256, 257, 65537, 1000003}) check_norms(ctx, n);
}

VKT_CASE("sum_squares", "empty_repeat_and_errors") {
  Tensor empty = ctx.poisoned({0});
  float total = sum(empty).to_host()[0], norm = l2_norm(empty).to_host()[0];
  float average = mean(empty).to_host()[0];
  ctx.check_that("empty_sum", total == 0.0f, total, 0);
  ctx.check_that("empty_l2_norm", norm == 0.0f, norm, 0);
  ctx.check_that("empty_mean_nan", std::isnan(average), average, 0,
                 "PyTorch: mean of nothing is NaN");

  // No atomics and a fixed order: the same bits every time.
  std::vector<float> x = ctx.uniform(300007);
  Tensor tx = ctx.upload(x, {300007});
  float first = sum_squares(tx).to_host()[0];
  bool same = true;
  for (int i = 0; i < 3; ++i) same = same && sum_squares(tx).to_host()[0] == first;
  ctx.check_that("bitwise_repeat", same, first, first);

  ctx.check_error("out_shape", [&] { sum_squares_into(tx, ctx.poisoned({2})); },
                  {"sum_squares", "one element", "(2,)"});
  ctx.check_error("dtype", [&] { (void)l2_norm(Tensor::zeros(ctx.device, {3}, DType::i32)); },
                  {"l2_norm", "x is int32", "expected float32"});
}
