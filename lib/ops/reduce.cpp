// Sum of all elements: workgroups reduce grid-strided slices to partials, then one workgroup sums
// the partials. The order of additions is fixed, so the result is the same on every run.
#include <algorithm>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {
constexpr uint32_t kReduceGroup = 256;
constexpr uint32_t kMaxPartials = 256;  // one workgroup finishes them
}  // namespace

void sum_into(const Tensor& x, const Tensor& result) {
  require_dtype(x, DType::f32, "sum", "x");
  require_dtype(result, DType::f32, "sum", "out");
  VKT_REQUIRE(result.numel() == 1, "sum",
              "out must have one element, got shape " + shape_str(result.shape()));
  require_same_device(x, result, "sum");
  if (x.numel() == 0) {
    result.fill(0.0f);
    return;
  }
  Scheduler& scheduler = scheduler_of(x);
  Kernel kernel{"reduce_sum", {kReduceGroup}};
  uint32_t n = uint32_t(x.numel());
  uint32_t partials = std::min<uint32_t>(kMaxPartials, (n + kReduceGroup - 1) / kReduceGroup);
  if (partials == 1) {
    scheduler.dispatch(kernel, {in(x), out(result)}, n, {1, 1, 1});
    return;
  }
  Tensor scratch = Tensor::empty(x.device(), {partials});
  scheduler.dispatch(kernel, {in(x), out(scratch)}, n, {partials, 1, 1});
  scheduler.dispatch(kernel, {in(scratch), out(result)}, partials, {1, 1, 1});
}

Tensor sum(const Tensor& x) {
  require_defined(x, "sum", "x");
  Tensor result = Tensor::empty(x.device(), {1});
  sum_into(x, result);
  return result;
}

}  // namespace vkt
