// Differentiable dropout, Gaussian noise, DropConnect and the losses.
#include "core/check.hpp"
#include "nn/grad_util.hpp"
#include "vktrain/functional.hpp"

namespace vkt::nn::detail {

Tensor take_step(const Tensor& step, const char* op) {
  VKT_REQUIRE(step.defined() && step.dtype() == DType::u32 && step.numel() == 1, op,
              "step must be a uint32 tensor of one element");
  Tensor snapshot = clone(step);
  increment(step);
  return snapshot;
}

}  // namespace vkt::nn::detail

namespace vkt::nn::F {

using nn::detail::take_step;

Variable dropout(const Variable& x, const Tensor& step, const DropoutParams& params) {
  if (!params.training || params.p == 0.0f) return x;  // the identity: no copy, no node
  Tensor used = take_step(step, "dropout");
  Tensor y = Tensor::empty(x.value().device(), x.shape());
  dropout_forward(x.value(), used, y, params);
  auto x_node = x.node();
  return make_result(y, {x}, "dropout", [=](const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.device(), dy.shape());
    dropout_backward(dy, used, dx, params);
    accumulate(x_node, dx);
  });
}

Variable gaussian_noise(const Variable& x, const Tensor& step, const NoiseParams& params) {
  if (!params.training || params.sigma == 0.0f) return x;
  Tensor used = take_step(step, "gaussian_noise");
  Tensor y = Tensor::empty(x.value().device(), x.shape());
  gaussian_noise_forward(x.value(), used, y, params);
  auto x_node = x.node();
  return make_result(y, {x}, "gaussian_noise", [=](const Tensor& dy) { accumulate(x_node, dy); });
}

Variable drop_connect(const Variable& weight, const Tensor& step, const DropoutParams& params) {
  if (!params.training || params.p == 0.0f) return weight;
  Tensor used = take_step(step, "drop_connect");
  Tensor masked = Tensor::empty(weight.value().device(), weight.shape());
  drop_connect_forward(weight.value(), used, masked, params);
  auto w_node = weight.node();
  return make_result(masked, {weight}, "drop_connect", [=](const Tensor& d_masked) {
    Tensor dw = Tensor::empty(d_masked.device(), d_masked.shape());
    drop_connect_backward(d_masked, used, dw, params);
    accumulate(w_node, dw);
  });
}

namespace {
void require_reduced(Reduction reduction, const char* op) {
  VKT_REQUIRE(reduction != Reduction::none, op,
              "autograd losses are scalars: use Reduction::mean or Reduction::sum");
}
}  // namespace

Variable cross_entropy(const Variable& logits, const Tensor& labels,
                       const CrossEntropyOptions& options) {
  require_reduced(options.reduction, "cross_entropy");
  Tensor loss = vkt::cross_entropy(logits.value(), labels, options);
  auto node = logits.node();
  return make_result(loss, {logits}, "cross_entropy", [=](const Tensor& dloss) {
    Tensor dlogits = Tensor::empty(dloss.device(), node->value.shape());
    cross_entropy_backward(node->value, labels, dlogits, options, dloss);
    accumulate(node, dlogits);
  });
}

Variable mse_loss(const Variable& input, const Tensor& target, Reduction reduction) {
  require_reduced(reduction, "mse_loss");
  Tensor loss = vkt::mse_loss(input.value(), target, reduction);
  auto node = input.node();
  return make_result(loss, {input}, "mse_loss", [=](const Tensor& dloss) {
    Tensor dinput = Tensor::empty(dloss.device(), node->value.shape());
    mse_loss_backward(node->value, target, dinput, reduction, dloss);
    accumulate(node, dinput);
  });
}

Variable l1_loss(const Variable& input, const Tensor& target, Reduction reduction) {
  require_reduced(reduction, "l1_loss");
  Tensor loss = vkt::l1_loss(input.value(), target, reduction);
  auto node = input.node();
  return make_result(loss, {input}, "l1_loss", [=](const Tensor& dloss) {
    Tensor dinput = Tensor::empty(dloss.device(), node->value.shape());
    l1_loss_backward(node->value, target, dinput, reduction, dloss);
    accumulate(node, dinput);
  });
}

}  // namespace vkt::nn::F
