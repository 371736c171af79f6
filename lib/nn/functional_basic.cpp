// Differentiable linear, reshape/flatten, add, scale, sum.
#include "core/check.hpp"
#include "nn/grad_util.hpp"
#include "vktrain/functional.hpp"
#include "vktrain/philox.hpp"

namespace vkt::nn::F {

using nn::detail::grad_into;

namespace {

// y = [dropout](relu?(x·Wᵀ + b)) in one matmul; `step` the value the dropout uses (taken).
Variable linear_epilogue(const Variable& x, const Variable& weight, const Variable& bias, bool relu,
                         const Tensor& step, const DropoutParams& dropout) {
  const Tensor& input = x.value();
  const Tensor& w = weight.value();
  VKT_REQUIRE(input.dim() == 2 && w.dim() == 2 && input.size(1) == w.size(1), "linear",
              "input " + shape_str(input.shape()) + " and weight " + shape_str(w.shape()) +
                  " do not fit: expected input (N, in) and weight (out, in)");
  const bool dropped = step.defined();
  Tensor y = Tensor::empty(input.device(), {input.size(0), w.size(0)});
  matmul_into(input, w, y,
              {.transpose_b = true,
               .activation = relu ? Activation::relu : Activation::none,
               .dropout = dropped ? dropout : DropoutParams{.p = 0.0f},
               .dropout_step = step},
              bias.defined() ? bias.value() : Tensor());
  const float scale = philox::dropout_scale(dropout.p);
  auto x_node = x.node(), w_node = weight.node(), b_node = bias.node();
  const char* name = dropped ? "linear_relu_dropout" : relu ? "linear_relu" : "linear";
  return make_result(y, {x, weight, bias}, name, [=](const Tensor& dy_out) {
    // The fused ReLU's (and dropout's) backward first: dz (N, out) = dy · (y > 0) [· scale], from
    // the output as ReLU's own.
    Tensor dy = dy_out;
    if (relu) {
      dy = Tensor::empty(dy_out.device(), dy_out.shape());
      if (dropped)
        relu_dropout_backward(dy_out, y, scale, dy);
      else
        activation_backward(ActivationKind::relu, dy_out, Tensor(), y, dy);
    }
    // dx (N, in) = dy (N, out) · W (out, in)
    grad_into(x_node, [&](const Tensor& dx, bool acc) {
      matmul_into(dy, w_node->value, dx, {.accumulate = acc});
    });
    // dW (out, in) += dyᵀ · x
    grad_into(w_node, [&](const Tensor& dw, bool acc) {
      matmul_into(dy, x_node->value, dw, {.transpose_a = true, .accumulate = acc});
    });
    // db (out,) += dyᵀ · 1: a column sum as a matrix-vector product.
    grad_into(b_node, [&](const Tensor& db, bool acc) {
      Tensor ones = Tensor::full(dy.device(), {dy.size(0), 1}, 1.0f);
      matmul_into(dy, ones, db.reshape({dy.size(1), 1}), {.transpose_a = true, .accumulate = acc});
    });
  });
}

}  // namespace

Variable linear(const Variable& x, const Variable& weight, const Variable& bias, bool relu) {
  return linear_epilogue(x, weight, bias, relu, Tensor(), {});
}

Variable linear_relu_dropout(const Variable& x, const Variable& weight, const Variable& bias,
                             const Tensor& step, const DropoutParams& params) {
  VKT_REQUIRE(params.p >= 0.0f && params.p <= 1.0f, "linear_relu_dropout",
              "dropout p must be in [0, 1], got " + std::to_string(params.p));
  if (!params.training || params.p == 0.0f) return linear(x, weight, bias, true);
  return linear_epilogue(x, weight, bias, true, nn::detail::take_step(step, "linear_relu_dropout"),
                         params);
}

Variable reshape(const Variable& x, Shape shape) {
  Tensor y = x.value().reshape(std::move(shape));
  auto x_node = x.node();
  return make_result(y, {x}, "reshape", [=](const Tensor& dy) {
    accumulate(x_node, dy.reshape(x_node->value.shape()));
  });
}

Variable flatten(const Variable& x) {
  VKT_REQUIRE(x.value().dim() >= 1, "flatten", "a 0-d tensor cannot be flattened");
  return reshape(x, {x.value().size(0), -1});
}

Variable add(const Variable& a, const Variable& b) {
  Tensor y = vkt::add(a.value(), b.value());
  auto a_node = a.node(), b_node = b.node();
  return make_result(y, {a, b}, "add", [=](const Tensor& dy) {
    accumulate(a_node, dy);
    accumulate(b_node, dy);
  });
}

Variable scale(const Variable& x, float alpha) {
  Tensor y = vkt::scale(x.value(), alpha);
  auto x_node = x.node();
  return make_result(y, {x}, "scale", [=](const Tensor& dy) {
    grad_into(x_node, [&](const Tensor& dx, bool acc) {
      if (!acc) {
        unary_into(UnaryOp::scale, dy, alpha, dx);
      } else {
        axpy(alpha, dy, dx);
      }
    });
  });
}

Variable sum(const Variable& x) {
  Tensor y = vkt::sum(x.value());
  auto x_node = x.node();
  return make_result(y, {x}, "sum", [=](const Tensor& dy) {
    // d sum / dx = 1: broadcast the scalar gradient (a one-element matmul keeps it on the device).
    Tensor ones = Tensor::full(dy.device(), {x_node->value.numel(), 1}, 1.0f);
    Tensor dx = matmul(ones, dy.reshape({1, 1})).reshape(x_node->value.shape());
    accumulate(x_node, dx);
  });
}

}  // namespace vkt::nn::F
