// Reverse-mode autograd over the ops.
//
// A Variable wraps a Tensor value. Ops in vkt::nn (functional.hpp) called on Variables that require
// gradients record a node holding the inputs and a backward function. backward(loss) walks the
// recorded nodes from the loss in reverse order of creation (the tape), calling each backward once
// with the gradient accumulated from all its consumers. Leaf variables (parameters) accumulate into a
// persistent .grad tensor across backward calls until zero_grad(), as in PyTorch; intermediate
// gradients are freed with the graph.
//
// Everything is recorded through the device's scheduler, so a whole forward + backward + optimizer
// step can be captured once (Scheduler::capture) and replayed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vktrain/tensor.hpp"

namespace vkt::nn {

struct Node;

class Variable {
 public:
  Variable() = default;
  // A leaf. With requires_grad its gradient is kept in grad() (allocated zeroed here).
  explicit Variable(Tensor value, bool requires_grad = false);

  const Tensor& value() const;
  // The accumulated gradient (same shape as value); undefined for variables without one.
  const Tensor& grad() const;
  bool requires_grad() const;
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const { return value().shape(); }
  // Sets grad() to zero (a GPU fill); a no-op without a gradient.
  void zero_grad() const;

  const std::shared_ptr<Node>& node() const { return node_; }
  explicit Variable(std::shared_ptr<Node> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<Node> node_;
};

// One recorded op: `backward(grad_of_output)` adds the gradients of its inputs with accumulate().
struct Node {
  Tensor value;
  Tensor grad;  // leaves: persistent; others: the gradient gathered during backward()
  bool requires_grad = false;
  bool leaf = true;
  uint64_t sequence = 0;  // creation order: the tape position
  std::vector<std::shared_ptr<Node>> inputs;
  std::function<void(const Tensor& grad_output)> backward;
  std::string op;  // for error messages
};

// Creates the result of an op. When grad mode is on and some input requires a gradient, the node
// records `inputs` and `backward`; otherwise it is a plain value.
Variable make_result(Tensor value, std::vector<Variable> inputs, const char* op,
                     std::function<void(const Tensor& grad_output)> backward);

// Adds `gradient` into input's gradient (for use inside backward functions). Inputs that do not
// require a gradient are skipped; for the first contribution of an intermediate, the tensor is
// taken over without a copy.
void accumulate(const std::shared_ptr<Node>& input, const Tensor& gradient);
// Whether input `index` of a node needs its gradient computed.
bool needs_grad(const std::shared_ptr<Node>& node);

// Runs the backward pass from a scalar (one-element) loss, seeding d(loss) = 1 (or `gradient`).
void backward(const Variable& loss, const Tensor& gradient = {});

// Grad mode: ops record nodes only while it is on (the default). NoGrad switches it off for a scope
// (evaluation, optimizer updates).
bool grad_enabled();
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace vkt::nn
