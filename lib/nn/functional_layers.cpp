// Differentiable activations, convolution, pooling and normalization.
#include "core/check.hpp"
#include "nn/grad_util.hpp"
#include "vktrain/functional.hpp"

namespace vkt::nn::F {

using nn::detail::grad_into;

Variable activation(const Variable& x, ActivationKind kind, std::optional<float> param) {
  Tensor y = vkt::activation(kind, x.value(), param);
  auto x_node = x.node();
  // Keep y for the kinds whose derivative is exact from it (saves holding x); gelu needs x.
  bool from_y = kind != ActivationKind::gelu && kind != ActivationKind::gelu_tanh;
  return make_result(y, {x}, activation_name(kind), [=](const Tensor& dy) {
    Tensor saved_x = from_y ? Tensor() : x_node->value;
    Tensor saved_y = from_y ? y : Tensor();
    grad_into(x_node, [&](const Tensor& dx, bool acc) {
      if (!acc) {
        activation_backward(kind, dy, saved_x, saved_y, dx, param);
      } else {
        axpy(1.0f, activation_backward(kind, dy, saved_x, saved_y, param), dx);
      }
    });
  });
}

Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias,
                const Conv2dParams& params) {
  Tensor y = vkt::conv2d(x.value(), weight.value(), bias.defined() ? bias.value() : Tensor(), params);
  auto x_node = x.node(), w_node = weight.node(), b_node = bias.node();
  return make_result(y, {x, weight, bias}, "conv2d", [=](const Tensor& dy) {
    Tensor input = x_node->value, w = w_node->value;
    // Data gradient into a fresh tensor (conv2d_backward overwrites dx).
    if (needs_grad(x_node)) {
      Tensor dx = Tensor::empty(input.device(), input.shape());
      conv2d_backward(dy, Tensor(), w, params, dx, Tensor(), Tensor());
      accumulate(x_node, dx);
    }
    // Weight and bias gradients accumulate straight into the parameters' .grad.
    grad_into(w_node, [&](const Tensor& dw, bool acc) {
      conv2d_backward(dy, input, Tensor(), params, Tensor(), dw, Tensor(), acc);
    });
    grad_into(b_node, [&](const Tensor& db, bool acc) {
      conv2d_backward(dy, input, w, params, Tensor(), Tensor(), db, acc);  // x, w give the shapes
    });
  });
}

Variable max_pool2d(const Variable& x, const Pool2dParams& params) {
  MaxPool2dResult result = vkt::max_pool2d(x.value(), params);
  auto x_node = x.node();
  Tensor indices = result.indices;
  return make_result(result.y, {x}, "max_pool2d", [=](const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.device(), x_node->value.shape());
    max_pool2d_backward(dy, indices, params, dx);
    accumulate(x_node, dx);
  });
}

Variable avg_pool2d(const Variable& x, const Pool2dParams& params) {
  Tensor y = vkt::avg_pool2d(x.value(), params);
  auto x_node = x.node();
  return make_result(y, {x}, "avg_pool2d", [=](const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.device(), x_node->value.shape());
    avg_pool2d_backward(dy, params, dx);
    accumulate(x_node, dx);
  });
}

Variable global_avg_pool2d(const Variable& x) {
  Tensor y = vkt::global_avg_pool2d(x.value());
  auto x_node = x.node();
  return make_result(y, {x}, "global_avg_pool2d", [=](const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.device(), x_node->value.shape());
    global_avg_pool2d_backward(dy, dx);
    accumulate(x_node, dx);
  });
}

namespace {
// Accumulates the norm gradients computed into fresh tensors (the norm backwards overwrite).
void accumulate_norm(const std::shared_ptr<Node>& x, const std::shared_ptr<Node>& weight,
                     const std::shared_ptr<Node>& bias, const NormGradients& gradients) {
  if (gradients.dx.defined()) accumulate(x, gradients.dx);
  if (gradients.dgamma.defined()) accumulate(weight, gradients.dgamma);
  if (gradients.dbeta.defined()) accumulate(bias, gradients.dbeta);
}
Tensor value_or_empty(const Variable& v) { return v.defined() ? v.value() : Tensor(); }
Tensor fresh_if(bool wanted, const std::shared_ptr<Node>& like) {
  return wanted ? Tensor::empty(like->value.device(), like->value.shape()) : Tensor();
}
}  // namespace

Variable batch_norm(const Variable& x, const Variable& weight, const Variable& bias,
                    const Tensor& running_mean, const Tensor& running_var,
                    const Tensor& num_batches_tracked, const BatchNormOptions& options) {
  NormOutput out = vkt::batch_norm(x.value(), value_or_empty(weight), value_or_empty(bias),
                                   running_mean, running_var, num_batches_tracked, options);
  bool batch_stats = batch_norm_uses_batch_stats(options, running_mean);
  auto x_node = x.node(), w_node = weight.node(), b_node = bias.node();
  // A fused ReLU's backward masks dy where the output is > 0, as ReLU's own backward would; the
  // kernels recompute that output from x and beta instead of reading it.
  std::optional<FusedRelu> relu;
  if (options.relu) relu = FusedRelu{value_or_empty(bias)};
  const char* name = options.relu ? "batch_norm_relu" : "batch_norm";
  return make_result(out.y, {x, weight, bias}, name, [=](const Tensor& dy) {
    NormGradients g{fresh_if(needs_grad(x_node), x_node), fresh_if(needs_grad(w_node), w_node),
                    fresh_if(needs_grad(b_node), b_node)};
    batch_norm_backward(dy, x_node->value, w_node ? w_node->value : Tensor(), out.save_mean,
                        out.save_invstd, g.dx, g.dgamma, g.dbeta, batch_stats, relu);
    accumulate_norm(x_node, w_node, b_node, g);
  });
}

Variable layer_norm(const Variable& x, const Shape& normalized_shape, const Variable& weight,
                    const Variable& bias, float eps) {
  NormOutput out = vkt::layer_norm(x.value(), normalized_shape, value_or_empty(weight),
                                   value_or_empty(bias), eps);
  auto x_node = x.node(), w_node = weight.node(), b_node = bias.node();
  return make_result(out.y, {x, weight, bias}, "layer_norm", [=](const Tensor& dy) {
    NormGradients g{fresh_if(needs_grad(x_node), x_node), fresh_if(needs_grad(w_node), w_node),
                    fresh_if(needs_grad(b_node), b_node)};
    layer_norm_backward(dy, x_node->value, normalized_shape, w_node ? w_node->value : Tensor(),
                        out.save_mean, out.save_invstd, g.dx, g.dgamma, g.dbeta);
    accumulate_norm(x_node, w_node, b_node, g);
  });
}

Variable group_norm(const Variable& x, int64_t num_groups, const Variable& weight,
                    const Variable& bias, float eps) {
  NormOutput out = vkt::group_norm(x.value(), num_groups, value_or_empty(weight),
                                   value_or_empty(bias), eps);
  auto x_node = x.node(), w_node = weight.node(), b_node = bias.node();
  return make_result(out.y, {x, weight, bias}, "group_norm", [=](const Tensor& dy) {
    NormGradients g{fresh_if(needs_grad(x_node), x_node), fresh_if(needs_grad(w_node), w_node),
                    fresh_if(needs_grad(b_node), b_node)};
    group_norm_backward(dy, x_node->value, num_groups, w_node ? w_node->value : Tensor(),
                        out.save_mean, out.save_invstd, g.dx, g.dgamma, g.dbeta);
    accumulate_norm(x_node, w_node, b_node, g);
  });
}

}  // namespace vkt::nn::F
