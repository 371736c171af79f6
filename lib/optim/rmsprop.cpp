// torch.optim.RMSprop: plain, centered, momentum, weight decay, maximize.
#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options)
    : Optimizer("RMSprop", std::move(groups), options.lr, options.weight_decay), options_(options) {
  require(options.eps >= 0, "invalid epsilon " + number(options.eps) + " (must be >= 0)");
  require(options.momentum >= 0,
          "invalid momentum " + number(options.momentum) + " (must be >= 0)");
  require(options.alpha >= 0, "invalid alpha " + number(options.alpha) + " (must be >= 0)");
  add_buffer("square_avg", 0.0f);
  if (options.centered) add_buffer("grad_avg", 0.0f);
  if (options.momentum > 0) add_buffer("momentum_buffer", 0.0f);
}

RMSprop::RMSprop(std::vector<ParamRef> params, const RMSpropOptions& options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options) {}

void RMSprop::step() {
  advance_step_count();
  bool centered = options_.centered, momentum = options_.momentum > 0;
  for (const Slot& slot : slots_) {
    const ParamRef& param = slot.param;
    if (param.value.numel() == 0) continue;
    struct {
      uint32_t n, group;
      float alpha, one_minus_alpha, eps, weight_decay, momentum;
    } push{uint32_t(param.value.numel()), slot.group,
           float(options_.alpha),         float(1.0 - options_.alpha),
           float(options_.eps),           float(*groups_[slot.group].weight_decay),
           float(options_.momentum)};
    size_t momentum_index = centered ? 2 : 1;
    const Tensor& momentum_buffer = buffer_or_placeholder(slot, momentum_index, momentum);
    dispatch_update(
        {"optim_rmsprop",
         {kUpdateGroup, centered, momentum, options_.maximize, guarded(), update_vec4(param)}},
        "optim_rmsprop_windows",
        {inout(param.value), in(param.grad), in(lr_tensor()), inout(slot.buffers[0]),
         inout(buffer_or_placeholder(slot, 1, centered)), inout(momentum_buffer), in(guard())},
        {param.value, param.grad, slot.buffers[0], momentum_buffer}, param, push);
  }
}

std::string RMSprop::settings() const {
  return "RMSprop alpha=" + number(options_.alpha) + " eps=" + number(options_.eps) +
         " momentum=" + number(options_.momentum) +
         " centered=" + std::to_string(options_.centered) +
         " maximize=" + std::to_string(options_.maximize) + describe_groups();
}

}  // namespace vkt::optim
