// Gradient clipping: clip_grad_norm_ (a deterministic multi-tensor norm into a device scalar, then
// a scale read on the device) and clip_grad_value_.
#include <cmath>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

namespace {

constexpr const char* kClip = "clip_grad_norm";

struct Push {
  uint32_t n, slots;
  float max_norm;
};

Norm norm_of(double norm_type) {
  if (norm_type == 2.0) return Norm::l2;
  if (norm_type == 1.0) return Norm::l1;
  VKT_REQUIRE(std::isinf(norm_type) && norm_type > 0, kClip,
              "norm_type " + number(norm_type) + " is not supported (1, 2 or infinity)");
  return Norm::infinity;
}

}  // namespace

namespace detail {

void finish_reduction(const Tensor& partials, const Tensor& out, Norm norm) {
  scheduler_of(out).dispatch({"clip_grad_norm", {kUpdateGroup, 1u, uint32_t(norm)}},
                             {in(partials), vkt::out(out)},
                             Push{uint32_t(partials.numel()), 0, 0.0f}, {1, 1, 1});
}

}  // namespace detail

GradClipper::GradClipper(std::vector<Tensor> grads, double max_norm, double norm_type)
    : grads_(std::move(grads)), max_norm_(max_norm), norm_type_(norm_type) {
  norm_of(norm_type);
  VKT_REQUIRE(max_norm >= 0, kClip, "invalid max_norm " + number(max_norm) + " (must be >= 0)");
  VKT_REQUIRE(!grads_.empty(), kClip, "no gradients given");
  for (size_t i = 0; i < grads_.size(); ++i) {
    const Tensor& grad = grads_[i];
    std::string label = "gradient " + std::to_string(i);
    vkt::detail::require_dtype(grad, DType::f32, kClip, label.c_str());
    vkt::detail::require_same_device(grad, grads_.front(), kClip);
    VKT_REQUIRE(grad.numel() <= int64_t(UINT32_MAX), kClip,
                label + " " + shape_str(grad.shape()) + " has more than 2^32 - 1 elements");
  }
  // Zeroed: the blocks of empty gradients, never written, add nothing.
  partials_ = Tensor::zeros(grads_.front().device(), {int64_t(grads_.size() * kReductionSlots)});
  total_ = Tensor::zeros(grads_.front().device(), {1});
}

namespace {
std::vector<Tensor> grads_of(const std::vector<ParamRef>& params) {
  std::vector<Tensor> grads;
  for (const ParamRef& param : params) grads.push_back(param.grad);
  return grads;
}
}  // namespace

GradClipper::GradClipper(const std::vector<ParamRef>& params, double max_norm, double norm_type)
    : GradClipper(grads_of(params), max_norm, norm_type) {}

void GradClipper::clip() {
  Norm norm = norm_of(norm_type_);
  Scheduler& scheduler = scheduler_of(total_);
  // Per-gradient partial sums: disjoint blocks, so these run without barriers between them.
  for (size_t i = 0; i < grads_.size(); ++i) {
    const Tensor& grad = grads_[i];
    if (grad.numel() == 0) continue;
    scheduler.dispatch({"clip_grad_norm", {kUpdateGroup, 0u, uint32_t(norm)}},
                       {in(grad), out(reduction_block(partials_, i))},
                       Push{uint32_t(grad.numel()), kReductionSlots, 0.0f},
                       {partial_groups(grad.numel()), 1, 1});
  }
  finish_reduction(partials_, total_, norm);
  for (const Tensor& grad : grads_) {
    if (grad.numel() == 0) continue;
    scheduler.dispatch({"clip_grad_norm", {kUpdateGroup, 2u, uint32_t(norm)}},
                       {in(total_), inout(grad)}, Push{uint32_t(grad.numel()), 0, float(max_norm_)},
                       grid_1d(grad.numel(), kUpdateGroup));
  }
}

Tensor clip_grad_norm(const std::vector<ParamRef>& params, double max_norm, double norm_type) {
  GradClipper clipper(params, max_norm, norm_type);
  clipper.clip();
  return clipper.total_norm();
}

void clip_grad_value(const std::vector<ParamRef>& params, double clip_value) {
  VKT_REQUIRE(clip_value >= 0, "clip_grad_value",
              "invalid clip_value " + number(clip_value) + " (must be >= 0)");
  for (const ParamRef& param : params)
    clamp_into(param.grad, float(-clip_value), float(clip_value), param.grad);
}

}  // namespace vkt::optim
