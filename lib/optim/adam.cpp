// torch.optim.Adam and AdamW: bias corrections from the on-device step count, L2 or decoupled
// weight decay, AMSGrad, maximize.
#include <cmath>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

namespace {

AdamOptions as_adam(const AdamWOptions& o) {
  return {o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}

}  // namespace

Adam::Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options,
           bool decoupled)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay),
      options_(options),
      decoupled_(decoupled) {
  auto [beta1, beta2] = options.betas;
  require(options.eps >= 0, "invalid epsilon " + number(options.eps) + " (must be >= 0)");
  require(beta1 >= 0 && beta1 < 1,
          "invalid beta parameter at index 0: " + number(beta1) + " (must be in [0, 1))");
  require(beta2 >= 0 && beta2 < 1,
          "invalid beta parameter at index 1: " + number(beta2) + " (must be in [0, 1))");
  corrections_ = Tensor::empty(step_count().device(), {int64_t(2 * groups_.size())});
  add_buffer("exp_avg", 0.0f);
  add_buffer("exp_avg_sq", 0.0f);
  if (options.amsgrad) add_buffer("max_exp_avg_sq", 0.0f);
}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", std::move(groups), options, false) {}
Adam::Adam(std::vector<ParamRef> params, const AdamOptions& options)
    : Adam("Adam", {ParamGroup{std::move(params), {}, {}}}, options, false) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Adam("AdamW", std::move(groups), as_adam(options), true) {}
AdamW::AdamW(std::vector<ParamRef> params, const AdamWOptions& options)
    : Adam("AdamW", {ParamGroup{std::move(params), {}, {}}}, as_adam(options), true) {}

void Adam::step() {
  advance_step_count();
  auto [beta1, beta2] = options_.betas;
  // The bias corrections of every group, once: ln β in double, rounded once (ln 0 = −∞ gives a
  // correction of exactly 1).
  struct {
    uint32_t groups;
    float log_beta1, log_beta2;
  } bias{uint32_t(groups_.size()), float(std::log(beta1)), float(std::log(beta2))};
  scheduler_of(corrections_)
      .dispatch({"optim_adam_bias", {kUpdateGroup}},
                {in(lr_tensor()), in(step_count()), out(corrections_)}, bias,
                grid_1d(groups_.size()));
  for (const Slot& slot : slots_) {
    const ParamRef& param = slot.param;
    if (param.value.numel() == 0) continue;
    // 1 − β in double, rounded once.
    struct {
      uint32_t n, group;
      float beta1, one_minus_beta1;
      float beta2, one_minus_beta2;
      float eps, weight_decay;
    } push{uint32_t(param.value.numel()),
           slot.group,
           float(beta1),
           float(1.0 - beta1),
           float(beta2),
           float(1.0 - beta2),
           float(options_.eps),
           float(*groups_[slot.group].weight_decay)};
    dispatch_update({"optim_adam",
                     {kUpdateGroup, options_.amsgrad, decoupled_, options_.maximize, guarded(),
                      update_vec4(param)}},
                    "optim_adam_windows",
                    {inout(param.value), in(param.grad), in(lr_tensor()), in(corrections_),
                     inout(slot.buffers[0]), inout(slot.buffers[1]),
                     inout(buffer_or_placeholder(slot, 2, options_.amsgrad)), in(guard())},
                    {param.value, param.grad, slot.buffers[0], slot.buffers[1]}, param, push);
  }
}

std::string Adam::settings() const {
  return name() + " betas=(" + number(options_.betas.first) + ", " + number(options_.betas.second) +
         ") eps=" + number(options_.eps) + " amsgrad=" + std::to_string(options_.amsgrad) +
         " maximize=" + std::to_string(options_.maximize) + describe_groups();
}

}  // namespace vkt::optim
