// Full reductions to one element: sum, mean, sum of squares, sum of absolute values, L2 norm.
// Workgroups reduce grid-strided slices to partials (Kahan-compensated within an invocation, a
// shared-memory tree across it), then one workgroup sums the partials. The order of additions is
// fixed and nothing is atomic, so results repeat bit for bit run to run.
#include <algorithm>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

constexpr uint32_t kReduceGroup = 256;
constexpr uint32_t kMaxPartials = 256;  // one workgroup finishes them

// The kernel's MAP and FINISH specialization constants.
enum class Map : uint32_t { identity = 0, square = 1, abs = 2 };
enum class Finish : uint32_t { none = 0, sqrt = 1 };

struct Push {
  uint32_t n;
  float divisor;
};

// out (1 element) = finish(Σ map(x)) / divisor; an empty x gives finish(0) / divisor.
void reduce_into(const char* op, const Tensor& x, const Tensor& result, Map map, Finish finish,
                 bool mean) {
  require_dtype(x, DType::f32, op, "x");
  require_dtype(result, DType::f32, op, "out");
  VKT_REQUIRE(result.numel() == 1, op,
              "out must have one element, got shape " + shape_str(result.shape()));
  require_same_device(x, result, op);
  VKT_REQUIRE(x.numel() <= int64_t(UINT32_MAX), op,
              "x " + shape_str(x.shape()) + " has more than 2^32 - 1 elements");
  uint32_t n = uint32_t(x.numel());
  // PyTorch's mean divides the sum by the count (an empty mean is 0/0 = NaN).
  float divisor = mean ? float(n) : 1.0f;
  if (n == 0) {
    result.fill(0.0f / divisor);
    return;
  }
  Scheduler& scheduler = scheduler_of(x);
  uint32_t partials = std::min<uint32_t>(kMaxPartials, (n + kReduceGroup - 1) / kReduceGroup);
  if (partials == 1) {
    scheduler.dispatch({"reduce_sum", {kReduceGroup, uint32_t(map), uint32_t(finish)}},
                       {in(x), out(result)}, Push{n, divisor}, {1, 1, 1});
    return;
  }
  Tensor scratch = Tensor::empty(x.device(), {partials});
  scheduler.dispatch({"reduce_sum", {kReduceGroup, uint32_t(map), uint32_t(Finish::none)}},
                     {in(x), out(scratch)}, Push{n, 1.0f}, {partials, 1, 1});
  scheduler.dispatch({"reduce_sum", {kReduceGroup, uint32_t(Map::identity), uint32_t(finish)}},
                     {in(scratch), out(result)}, Push{partials, divisor}, {1, 1, 1});
}

Tensor reduce(const char* op, const Tensor& x, Map map, Finish finish, bool mean) {
  require_defined(x, op, "x");
  Tensor result = Tensor::empty(x.device(), {1});
  reduce_into(op, x, result, map, finish, mean);
  return result;
}

}  // namespace

void sum_into(const Tensor& x, const Tensor& out) {
  reduce_into("sum", x, out, Map::identity, Finish::none, false);
}
Tensor sum(const Tensor& x) {
  return reduce("sum", x, Map::identity, Finish::none, false);
}

void mean_into(const Tensor& x, const Tensor& out) {
  reduce_into("mean", x, out, Map::identity, Finish::none, true);
}
Tensor mean(const Tensor& x) {
  return reduce("mean", x, Map::identity, Finish::none, true);
}

void sum_squares_into(const Tensor& x, const Tensor& out) {
  reduce_into("sum_squares", x, out, Map::square, Finish::none, false);
}
Tensor sum_squares(const Tensor& x) {
  return reduce("sum_squares", x, Map::square, Finish::none, false);
}

void sum_abs_into(const Tensor& x, const Tensor& out) {
  reduce_into("sum_abs", x, out, Map::abs, Finish::none, false);
}
Tensor sum_abs(const Tensor& x) {
  return reduce("sum_abs", x, Map::abs, Finish::none, false);
}

void l2_norm_into(const Tensor& x, const Tensor& out) {
  reduce_into("l2_norm", x, out, Map::square, Finish::sqrt, false);
}
Tensor l2_norm(const Tensor& x) {
  return reduce("l2_norm", x, Map::square, Finish::sqrt, false);
}

}  // namespace vkt
