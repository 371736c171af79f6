// torch.optim.SGD: plain, momentum (with dampening), Nesterov, weight decay, maximize.
#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
  require(options.momentum >= 0,
          "invalid momentum " + number(options.momentum) + " (must be >= 0)");
  require(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
          "Nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
              number(options.momentum) + ", dampening " + number(options.dampening) + ")");
  if (options.momentum != 0) add_buffer("momentum_buffer", 0.0f);
}

SGD::SGD(std::vector<ParamRef> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options) {}

void SGD::step() {
  advance_step_count();
  bool momentum = options_.momentum != 0;
  for (const Slot& slot : slots_) {
    const ParamRef& param = slot.param;
    if (param.value.numel() == 0) continue;
    struct {
      uint32_t n, group;
      float weight_decay, momentum, one_minus_dampening;
    } push{uint32_t(param.value.numel()), slot.group, float(*groups_[slot.group].weight_decay),
           float(options_.momentum), float(1.0 - options_.dampening)};
    const Tensor& buffer = buffer_or_placeholder(slot, 0, momentum);
    dispatch_update({"optim_sgd",
                     {kUpdateGroup, momentum, options_.nesterov, options_.maximize, guarded(),
                      update_vec4(param)}},
                    "optim_sgd_windows",
                    {inout(param.value), in(param.grad), in(lr_tensor()), in(step_count()),
                     inout(buffer), in(guard())},
                    {param.value, param.grad, buffer}, param, push);
  }
}

std::string SGD::settings() const {
  return "SGD momentum=" + number(options_.momentum) + " dampening=" + number(options_.dampening) +
         " nesterov=" + std::to_string(options_.nesterov) +
         " maximize=" + std::to_string(options_.maximize) + describe_groups();
}

}  // namespace vkt::optim
