// torch.optim.Adadelta: weight decay, maximize.
#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

Adadelta::Adadelta(std::vector<ParamGroup> groups, const AdadeltaOptions& options)
    : Optimizer("Adadelta", std::move(groups), options.lr, options.weight_decay),
      options_(options) {
  require(options.rho >= 0 && options.rho <= 1,
          "invalid rho " + number(options.rho) + " (must be in [0, 1])");
  require(options.eps >= 0, "invalid epsilon " + number(options.eps) + " (must be >= 0)");
  add_buffer("square_avg", 0.0f);
  add_buffer("acc_delta", 0.0f);
}

Adadelta::Adadelta(std::vector<ParamRef> params, const AdadeltaOptions& options)
    : Adadelta(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options) {}

void Adadelta::step() {
  advance_step_count();
  for (const Slot& slot : slots_) {
    const ParamRef& param = slot.param;
    if (param.value.numel() == 0) continue;
    struct {
      uint32_t n, group;
      float rho, one_minus_rho, eps, weight_decay;
    } push{uint32_t(param.value.numel()), slot.group,
           float(options_.rho),           float(1.0 - options_.rho),
           float(options_.eps),           float(*groups_[slot.group].weight_decay)};
    dispatch_update(
        {"optim_adadelta", {kUpdateGroup, options_.maximize, guarded(), update_vec4(param)}},
        "optim_adadelta_windows",
        {inout(param.value), in(param.grad), in(lr_tensor()), inout(slot.buffers[0]),
         inout(slot.buffers[1]), in(guard())},
        {param.value, param.grad, slot.buffers[0], slot.buffers[1]}, param, push);
  }
}

std::string Adadelta::settings() const {
  return "Adadelta rho=" + number(options_.rho) + " eps=" + number(options_.eps) +
         " maximize=" + std::to_string(options_.maximize) + describe_groups();
}

}  // namespace vkt::optim
