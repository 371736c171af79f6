// sum: one-pass and two-pass reductions against a float64 sum.
#include <cmath>

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
}  // namespace

VKT_CASE("sum", "sizes") {
  for (int64_t n : {1, 7, 255, 256, 257, 65537, 1000003}) check_sum(ctx, n);
}
