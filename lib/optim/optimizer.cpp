// The Optimizer base: parameter groups and their checks, the on-device step counter and learning
// rates, state buffers and their checkpoint names.
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using detail::number;

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, std::optional<double> lr,
                     double weight_decay)
    : groups_(std::move(groups)), name_(std::move(name)) {
  require(!lr || (*lr >= 0 && std::isfinite(*lr)),
          "invalid learning rate " + number(lr.value_or(0)) + " (must be >= 0)");
  require(weight_decay >= 0, "invalid weight_decay " + number(weight_decay) + " (must be >= 0)");
  std::set<std::string> names;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    std::string where = groups_.size() > 1 ? " in group " + std::to_string(g) : "";
    if (!group.lr) group.lr = lr;
    require(group.lr.has_value(),
            "a learning rate is required: set the options' lr or every group's lr" + where);
    require(*group.lr >= 0 && std::isfinite(*group.lr),
            "invalid learning rate " + number(*group.lr) + where + " (must be >= 0)");
    if (!group.weight_decay) group.weight_decay = weight_decay;
    require(*group.weight_decay >= 0,
            "invalid weight_decay " + number(*group.weight_decay) + where + " (must be >= 0)");
    for (const ParamRef& param : group.params) {
      const std::string label = "parameter '" + param.name + "'";
      require(!param.name.empty(), "a parameter" + where + " has an empty name");
      require(names.insert(param.name).second,
              label + " appears more than once (names key the optimizer state)");
      require(param.value.defined() && param.grad.defined(),
              label + " has an undefined value or gradient");
      require(param.value.dtype() == DType::f32 && param.grad.dtype() == DType::f32,
              label + " must be float32, got value " + dtype_name(param.value.dtype()) +
                  " and grad " + dtype_name(param.grad.dtype()));
      require(param.value.shape() == param.grad.shape(),
              label + " has value " + shape_str(param.value.shape()) + " but grad " +
                  shape_str(param.grad.shape()) + " (expected the same shape)");
      require(param.value.numel() <= int64_t(UINT32_MAX),
              label + " " + shape_str(param.value.shape()) + " has more than 2^32 - 1 elements");
      require(!param.value.same_storage(param.grad), label + "'s value and grad share memory");
      if (!slots_.empty())
        require(param.value.device().shared_state() ==
                        slots_.front().param.value.device().shared_state() &&
                    param.grad.device().shared_state() ==
                        slots_.front().param.value.device().shared_state(),
                label + " lives on another device than the first parameter");
      else
        require(param.grad.device().shared_state() == param.value.device().shared_state(),
                label + "'s value and grad live on different devices");
      for (const Slot& other : slots_)
        require(!other.param.value.same_storage(param.value),
                label + " shares its value tensor with '" + other.param.name +
                    "' (a parameter may appear in one group only, once)");
      // The placeholder is never read or written, but kernels declare the binding writable: each
      // parameter has its own, so kernels of different parameters share no written binding (and
      // need no barrier between them). Allocated here: a captured step must not allocate.
      slots_.push_back(Slot{param, uint32_t(g), {}, Tensor::empty(param.value.device(), {1})});
    }
    lrs_.push_back(*group.lr);
  }
  require(!slots_.empty(), "got an empty parameter list");
  Device device = slots_.front().param.value.device();
  step_ = Tensor::zeros(device, {1}, DType::u32);
  guard_ = Tensor::zeros(device, {3}, DType::u32);
  lr_device_ = Tensor::empty(device, {int64_t(groups_.size())});
  std::vector<float> rates(lrs_.begin(), lrs_.end());
  lr_device_.upload(rates);
}

Optimizer::~Optimizer() = default;

void Optimizer::require(bool condition, const std::string& message) const {
  VKT_REQUIRE(condition, name_, message);
}

void Optimizer::add_buffer(const std::string& buffer, float initial) {
  buffer_names_.push_back(buffer);
  for (Slot& slot : slots_) {
    const Tensor& value = slot.param.value;
    slot.buffers.push_back(initial == 0.0f ? Tensor::zeros(value.device(), value.shape())
                                           : Tensor::full(value.device(), value.shape(), initial));
  }
}

const Tensor& Optimizer::buffer_or_placeholder(const Slot& slot, size_t index, bool used) const {
  return used ? slot.buffers.at(index) : slot.placeholder;
}

void Optimizer::advance_step_count() {
  // Before the update kernels, which read the new count t (1 on the first step).
  if (!guarded()) {
    increment(step_);
    return;
  }
  Arg args[] = {in(guard_loss_), inout(step_), inout(guard_)};
  step_.device().scheduler().dispatch(Kernel{"optim_guard", {}}, args, nullptr, 0, {1, 1, 1});
}

void Optimizer::step_if_finite(const Tensor& loss) {
  require(loss.defined() && loss.dtype() == DType::f32 && loss.numel() == 1,
          "step_if_finite: the loss must be one float32 element, got " +
              (loss.defined() ? std::string(dtype_name(loss.dtype())) + " " + shape_str(loss.shape())
                              : std::string("an undefined tensor")));
  require(loss.device().shared_state() == step_.device().shared_state(),
          "step_if_finite: the loss lives on another device than the parameters");
  guard_loss_ = loss;
  struct Reset {
    Tensor& tensor;
    ~Reset() { tensor = Tensor{}; }
  } reset{guard_loss_};
  step();
}

Optimizer::SkippedSteps Optimizer::skipped_steps() const {
  std::vector<uint32_t> values = guard_.to_host_u32();
  return {values.at(1), values.at(2)};
}

void Optimizer::zero_grad() {
  for (const Slot& slot : slots_)
    if (slot.param.grad.numel() > 0) slot.param.grad.fill(0.0f);
}

void Optimizer::set_lr(double lr) {
  set_lrs(std::vector<double>(groups_.size(), lr));
}

void Optimizer::set_lr(size_t group, double lr) {
  require(group < groups_.size(), "set_lr: group " + std::to_string(group) + " of " +
                                      std::to_string(groups_.size()) + " groups");
  std::vector<double> rates = lrs_;
  rates[group] = lr;
  set_lrs(rates);
}

void Optimizer::set_lrs(const std::vector<double>& lrs) {
  require(lrs.size() == groups_.size(), "set_lrs: " + std::to_string(lrs.size()) +
                                            " rates given for " + std::to_string(groups_.size()) +
                                            " groups");
  for (double lr : lrs)
    require(lr >= 0 && std::isfinite(lr),
            "set_lr: invalid learning rate " + number(lr) + " (must be >= 0)");
  require(!lr_device_.device().scheduler().capturing(),
          "set_lr during a capture would bake the rate into the sequence; set it before replay");
  for (size_t g = 0; g < groups_.size(); ++g) lrs_[g] = groups_[g].lr.emplace(lrs[g]);
  std::vector<float> rates(lrs_.begin(), lrs_.end());
  lr_device_.upload(rates);
}

double Optimizer::lr(size_t group) const {
  require(group < groups_.size(), "lr: group " + std::to_string(group) + " of " +
                                      std::to_string(groups_.size()) + " groups");
  return lrs_[group];
}

const std::vector<double>& Optimizer::initial_lrs() {
  if (initial_lrs_.empty()) initial_lrs_ = lrs_;
  return initial_lrs_;
}

const ParamGroup& Optimizer::group(size_t index) const {
  require(index < groups_.size(),
          "group " + std::to_string(index) + " of " + std::to_string(groups_.size()) + " groups");
  return groups_[index];
}

NamedTensors Optimizer::state() const {
  NamedTensors named{{"step", step_}};
  for (const Slot& slot : slots_)
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      named.emplace_back(slot.param.name + "." + buffer_names_[b], slot.buffers[b]);
  return named;
}

std::string Optimizer::describe_groups() const {
  // The instance matters too: a new optimizer with equal settings has other state tensors.
  std::ostringstream out;
  out << " instance=" << step_.allocation().get() << " groups=[";
  for (size_t g = 0; g < groups_.size(); ++g)
    out << (g ? ", " : "") << "(params=" << groups_[g].params.size()
        << " weight_decay=" << number(*groups_[g].weight_decay) << ")";
  out << "]";
  return out.str();
}

}  // namespace vkt::optim
