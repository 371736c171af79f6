// Weight penalties: L2 (λ/2·‖θ‖²) and L1 (λ·‖θ‖₁) terms of the loss, applied to gradients, with
// the penalty's value summed deterministically into a device scalar.
#include <cmath>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

namespace {
constexpr const char* kPenalty = "weight_penalty";
}  // namespace

WeightPenalty::WeightPenalty(std::vector<ParamRef> params, const Penalty& penalty)
    : params_(std::move(params)), penalty_(penalty) {
  VKT_REQUIRE(penalty.l2 >= 0 && std::isfinite(penalty.l2), kPenalty,
              "invalid l2 " + number(penalty.l2) + " (must be >= 0)");
  VKT_REQUIRE(penalty.l1 >= 0 && std::isfinite(penalty.l1), kPenalty,
              "invalid l1 " + number(penalty.l1) + " (must be >= 0)");
  VKT_REQUIRE(!params_.empty(), kPenalty, "no parameters given");
  for (const ParamRef& param : params_) {
    std::string value = "'" + param.name + "' value", grad = "'" + param.name + "' grad";
    vkt::detail::require_dtype(param.value, DType::f32, kPenalty, value.c_str());
    vkt::detail::require_dtype(param.grad, DType::f32, kPenalty, grad.c_str());
    vkt::detail::require_same_shape(param.value, param.grad, kPenalty, value.c_str(), grad.c_str());
    vkt::detail::require_same_device(param.value, param.grad, kPenalty);
    vkt::detail::require_same_device(param.value, params_.front().value, kPenalty);
    VKT_REQUIRE(param.value.numel() <= int64_t(UINT32_MAX), kPenalty,
                value + " " + shape_str(param.value.shape()) + " has more than 2^32 - 1 elements");
  }
  // Zeroed: the blocks of empty parameters, never written, add nothing.
  Device device = params_.front().value.device();
  partials_ = Tensor::zeros(device, {int64_t(params_.size() * kReductionSlots)});
  value_ = Tensor::zeros(device, {1});
}

void WeightPenalty::apply(bool compute_value) {
  record(true, compute_value);
}

void WeightPenalty::compute_value() {
  record(false, true);
}

void WeightPenalty::record(bool gradients, bool value) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamRef& param = params_[i];
    int64_t n = param.value.numel();
    if (n == 0) continue;
    // A grid-stride kernel: one block of partials when summing the value, else enough workgroups
    // for one element per invocation (up to the grid limit).
    uint32_t groups =
        value ? partial_groups(n)
              : uint32_t(std::min<int64_t>((n + kUpdateGroup - 1) / kUpdateGroup, 65535));
    struct {
      uint32_t n, slots;
      float l2, half_l2, l1;
    } push{uint32_t(n), kReductionSlots, float(penalty_.l2), float(penalty_.l2 / 2),
           float(penalty_.l1)};
    // The gradient and the block are bound even when untouched: the kernel declares both
    // writable, and each is this parameter's own.
    scheduler_of(param.value)
        .dispatch({"penalty_apply", {kUpdateGroup, gradients, value}},
                  {in(param.value), inout(param.grad), out(reduction_block(partials_, i))}, push,
                  {groups, 1, 1});
  }
  if (value) finish_reduction(partials_, value_, Norm::l1);
}

void apply_penalty(const ParamRef& param, const Penalty& penalty) {
  WeightPenalty(std::vector<ParamRef>{param}, penalty).apply();
}

}  // namespace vkt::optim
