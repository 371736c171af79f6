// torch.optim.Adagrad: lr decay from the on-device step count, initial accumulator, weight decay.
#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options)
    : Optimizer("Adagrad", std::move(groups), options.lr, options.weight_decay), options_(options) {
  require(options.lr_decay >= 0,
          "invalid lr_decay " + number(options.lr_decay) + " (must be >= 0)");
  require(options.initial_accumulator_value >= 0, "invalid initial_accumulator_value " +
                                                      number(options.initial_accumulator_value) +
                                                      " (must be >= 0)");
  require(options.eps >= 0, "invalid epsilon " + number(options.eps) + " (must be >= 0)");
  add_buffer("sum", float(options.initial_accumulator_value));
}

Adagrad::Adagrad(std::vector<ParamRef> params, const AdagradOptions& options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options) {}

void Adagrad::step() {
  advance_step_count();
  for (const Slot& slot : slots_) {
    const ParamRef& param = slot.param;
    if (param.value.numel() == 0) continue;
    struct {
      uint32_t n, group;
      float lr_decay, weight_decay, eps;
    } push{uint32_t(param.value.numel()), slot.group, float(options_.lr_decay),
           float(*groups_[slot.group].weight_decay), float(options_.eps)};
    dispatch_update(
        {"optim_adagrad", {kUpdateGroup, options_.maximize, guarded(), update_vec4(param)}},
        "optim_adagrad_windows",
        {inout(param.value), in(param.grad), in(lr_tensor()), in(step_count()),
         inout(slot.buffers[0]), in(guard())},
        {param.value, param.grad, slot.buffers[0]}, param, push);
  }
}

std::string Adagrad::settings() const {
  return "Adagrad lr_decay=" + number(options_.lr_decay) +
         " initial_accumulator_value=" + number(options_.initial_accumulator_value) +
         " eps=" + number(options_.eps) + " maximize=" + std::to_string(options_.maximize) +
         describe_groups();
}

}  // namespace vkt::optim
