#include "vktrain/autograd.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/check.hpp"
#include "nn/grad_util.hpp"
#include "vktrain/ops.hpp"
#include "vktrain/profiler.hpp"

namespace vkt::nn {

namespace {
thread_local bool grad_mode = true;
thread_local uint64_t next_sequence = 1;
}  // namespace

bool grad_enabled() { return grad_mode; }
NoGrad::NoGrad() : previous_(grad_mode) { grad_mode = false; }
NoGrad::~NoGrad() { grad_mode = previous_; }

Variable::Variable(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  VKT_REQUIRE(value.defined(), "Variable", "the value is an undefined tensor");
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
  node_->sequence = next_sequence++;
  if (requires_grad) {
    VKT_REQUIRE(node_->value.dtype() == DType::f32, "Variable",
                std::string("gradients need float32 values, got ") + dtype_name(node_->value.dtype()));
    node_->grad = Tensor::zeros(node_->value.device(), node_->value.shape());
  }
}

const Tensor& Variable::value() const {
  VKT_REQUIRE(node_, "Variable", "the variable is undefined");
  return node_->value;
}
const Tensor& Variable::grad() const {
  VKT_REQUIRE(node_, "Variable", "the variable is undefined");
  return node_->grad;
}
bool Variable::requires_grad() const { return node_ && node_->requires_grad; }
void Variable::zero_grad() const {
  if (node_ && node_->leaf && node_->grad.defined()) node_->grad.fill(0.0f);
}

Variable make_result(Tensor value, std::vector<Variable> inputs, const char* op,
                     std::function<void(const Tensor&)> backward) {
  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  node->sequence = next_sequence++;
  node->op = op;
  bool any = false;
  for (const Variable& input : inputs) any = any || input.requires_grad();
  if (grad_mode && any) {
    node->requires_grad = true;
    node->leaf = false;
    for (const Variable& input : inputs) node->inputs.push_back(input.node());
    node->backward = std::move(backward);
  }
  return Variable(std::move(node));
}

bool needs_grad(const std::shared_ptr<Node>& node) { return node && node->requires_grad; }

void accumulate(const std::shared_ptr<Node>& input, const Tensor& gradient) {
  if (!needs_grad(input)) return;
  VKT_REQUIRE(gradient.shape() == input->value.shape(), "backward",
              "gradient " + shape_str(gradient.shape()) + " for a value of shape " +
                  shape_str(input->value.shape()) + (input->op.empty() ? "" : " (" + input->op + ")"));
  if (input->leaf) {
    axpy(1.0f, gradient, input->grad);
  } else if (!input->grad.defined()) {
    input->grad = gradient;  // first contribution: no copy
  } else {
    input->grad = add(input->grad, gradient);
  }
}

void backward(const Variable& loss, const Tensor& gradient) {
  VKT_REQUIRE(loss.defined() && loss.requires_grad(), "backward",
              "the loss does not require a gradient (no parameter contributed to it, or grad mode "
              "was off)");
  VKT_REQUIRE(gradient.defined() || loss.value().numel() == 1, "backward",
              "a non-scalar output " + shape_str(loss.shape()) + " needs an explicit gradient");
  // Collect the graph, then walk it in reverse creation order: every consumer of a node was created
  // after it, so a node's gradient is complete when it is reached.
  std::vector<std::shared_ptr<Node>> nodes;
  std::unordered_set<Node*> seen;
  std::vector<std::shared_ptr<Node>> stack = {loss.node()};
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    if (!node || node->leaf || !seen.insert(node.get()).second) continue;
    VKT_REQUIRE(node->backward, "backward",
                "the graph through " + node->op + " was already used by an earlier backward()");
    nodes.push_back(node);
    for (const auto& input : node->inputs) stack.push_back(input);
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const auto& a, const auto& b) { return a->sequence > b->sequence; });
  const std::shared_ptr<Node>& root = loss.node();
  root->grad = gradient.defined() ? gradient : Tensor::full(loss.value().device(), loss.shape(), 1.0f);
  for (const auto& node : nodes) {
    if (!node->grad.defined()) continue;  // nothing flowed here
    {
      ProfileScope scope(node->grad.device(), node->op, ".backward");
      node->backward(node->grad);
    }
    // As PyTorch without retain_graph: the graph's saved tensors are released once used.
    node->grad = Tensor();
    node->backward = nullptr;
    node->inputs.clear();
  }
}

}  // namespace vkt::nn

namespace vkt::nn::detail {

void grad_into(const std::shared_ptr<Node>& input,
               const std::function<void(const Tensor& out, bool accumulate)>& compute) {
  if (!needs_grad(input)) return;
  if (input->leaf) {
    compute(input->grad, true);
    return;
  }
  Tensor gradient = Tensor::empty(input->value.device(), input->value.shape());
  compute(gradient, false);
  accumulate(input, gradient);
}

}  // namespace vkt::nn::detail
