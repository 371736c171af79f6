#include <sstream>

#include "core/check.hpp"
#include "vktrain/functional.hpp"
#include "vktrain/nn.hpp"

namespace vkt::nn {

namespace {
thread_local uint64_t generator_seed = 0;
thread_local uint32_t generator_stream = 0;
}  // namespace

void manual_seed(uint64_t seed) {
  generator_seed = seed;
  generator_stream = 0;
}
uint64_t initial_seed() { return generator_seed; }
uint32_t next_stream() { return generator_stream++; }

void Module::train(bool on) {
  training_ = on;
  on_mode_change();
  for (auto& [name, child] : children_) child->train(on);
}

NamedVariables Module::named_parameters() const {
  NamedVariables result = parameters_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, parameter] : child->named_parameters())
      result.emplace_back(name + "." + child_name, parameter);
  return result;
}

NamedTensors Module::named_buffers() const {
  NamedTensors result = buffers_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, buffer] : child->named_buffers())
      result.emplace_back(name + "." + child_name, buffer);
  return result;
}

NamedTensors Module::named_extra_state() const {
  NamedTensors result = extra_state_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, state] : child->named_extra_state())
      result.emplace_back(name + "." + child_name, state);
  return result;
}

NamedTensors Module::state_dict() const {
  // PyTorch's order: a module's own parameters, then its own buffers, then each child's.
  NamedTensors result;
  for (const auto& [name, parameter] : parameters_) result.emplace_back(name, parameter.value());
  for (const auto& entry : buffers_) result.push_back(entry);
  for (const auto& [name, child] : children_)
    for (auto& [child_name, tensor] : child->state_dict()) result.emplace_back(name + "." + child_name, tensor);
  return result;
}

void Module::save(const std::filesystem::path& path) const { save_safetensors(path, state_dict()); }
void Module::load(const std::filesystem::path& path) { load_safetensors(path, state_dict()); }

void Module::zero_grad() const {
  for (const auto& [name, parameter] : named_parameters()) parameter.zero_grad();
}

std::string Module::describe(int indent) const {
  std::ostringstream out;
  out << type_name() << "(" << extra_description();
  if (!children_.empty()) {
    out << "\n";
    for (const auto& [name, child] : children_)
      out << std::string(size_t(indent + 2), ' ') << "(" << name << "): " << child->describe(indent + 2)
          << "\n";
    out << std::string(size_t(indent), ' ');
  }
  out << ")";
  return out.str();
}

std::string Module::signature() const {
  std::ostringstream out;
  out << type_name() << "(" << extra_description() << (training_ ? ", train" : ", eval");
  auto identity = [&](const std::string& name, const Tensor& tensor) {
    out << ", " << name << "@" << tensor.allocation().get() << "+" << tensor.byte_offset()
        << shape_str(tensor.shape());
  };
  for (const auto& [name, parameter] : parameters_) identity(name, parameter.value());
  for (const auto& [name, buffer] : buffers_) identity(name, buffer);
  for (const auto& [name, state] : extra_state_) identity(name, state);
  for (const auto& [name, child] : children_) out << ", " << name << ": " << child->signature();
  out << ")";
  return out.str();
}

const Variable& Module::register_parameter(std::string name, Variable parameter) {
  parameters_.emplace_back(std::move(name), std::move(parameter));
  return parameters_.back().second;
}

const Tensor& Module::register_buffer(std::string name, Tensor buffer) {
  buffers_.emplace_back(std::move(name), std::move(buffer));
  return buffers_.back().second;
}

const Tensor& Module::register_extra_state(std::string name, Tensor state) {
  extra_state_.emplace_back(std::move(name), std::move(state));
  return extra_state_.back().second;
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& module : modules) add(std::move(module));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  VKT_REQUIRE(module != nullptr, "Sequential::add", "the module is null");
  register_module(std::to_string(children_.size()), std::move(module));
  return *this;
}

Variable Sequential::forward(const Variable& x) {
  Variable y = x;
  for (size_t i = 0; i < children_.size(); ++i) {
    Module& child = *children_[i].second;
    auto* norm = fuse_ ? dynamic_cast<BatchNorm*>(&child) : nullptr;
    auto* linear = fuse_ && !norm ? dynamic_cast<Linear*>(&child) : nullptr;
    auto* next = (norm || linear) && i + 1 < children_.size()
                     ? dynamic_cast<const Activation*>(children_[i + 1].second.get())
                     : nullptr;
    auto* dropout = linear && next && i + 2 < children_.size()
                        ? dynamic_cast<const Dropout*>(children_[i + 2].second.get())
                        : nullptr;
    if (dropout && next->kind() == ActivationKind::relu) {
      y = linear->forward_relu_dropout(y, *dropout);
      i += 2;  // the ReLU and the dropout ran inside
    } else if (next && next->kind() == ActivationKind::relu) {
      y = norm ? norm->forward_relu(y) : linear->forward_relu(y);
      ++i;  // the ReLU ran inside
    } else {
      y = child.forward(y);
    }
  }
  return y;
}


}  // namespace vkt::nn
