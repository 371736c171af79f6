// Differentiable ops on Variables (vkt::nn::F): each runs the op's forward kernel and, when a
// gradient is needed, records the matching backward kernels. Modules (nn.hpp) are built from these.
#pragma once

#include <optional>

#include "vktrain/autograd.hpp"
#include "vktrain/ops.hpp"

namespace vkt::nn::F {

// y = x·Wᵀ + b: x (N, in), weight (out, in), bias (out,) or undefined; y (N, out). With relu,
// y = relu(x·Wᵀ + b) in the matmul's epilogue, the backward masking dy by y > 0 as F::activation's
// relu does: bit-identical to linear followed by activation(relu), one pass fewer forward.
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = {}, bool relu = false);
// dropout(linear(x, weight, bias, relu = true), step, params) with the dropout in the matmul's
// epilogue too (MatmulOptions::dropout): the same numbers, bit for bit, and the same step handling
// as F::dropout; the backward (relu_dropout_backward) needs no mask. Eval or p = 0: linear + relu.
Variable linear_relu_dropout(const Variable& x, const Variable& weight, const Variable& bias,
                             const Tensor& step, const DropoutParams& params);
// A view with a new shape (one dimension may be -1); the gradient is reshaped back.
Variable reshape(const Variable& x, Shape shape);
// (N, d1, d2, ...) -> (N, d1·d2·...).
Variable flatten(const Variable& x);
Variable add(const Variable& a, const Variable& b);
Variable scale(const Variable& x, float alpha);
// Sum of all elements, a one-element Variable.
Variable sum(const Variable& x);

// ---- activations ----
Variable activation(const Variable& x, ActivationKind kind, std::optional<float> param = {});
inline Variable relu(const Variable& x) { return activation(x, ActivationKind::relu); }

// ---- convolution and pooling (N, C, H, W) ----
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias = {},
                const Conv2dParams& params = {});
Variable max_pool2d(const Variable& x, const Pool2dParams& params);
Variable avg_pool2d(const Variable& x, const Pool2dParams& params);
// AdaptiveAvgPool2d(1): (N, C, H, W) -> (N, C, 1, 1).
Variable global_avg_pool2d(const Variable& x);

// ---- normalization ----
// running_* and num_batches_tracked may be undefined (track_running_stats=False); weight/bias may be
// undefined (affine=False). In training the running statistics are updated on the device.
Variable batch_norm(const Variable& x, const Variable& weight, const Variable& bias,
                    const Tensor& running_mean, const Tensor& running_var,
                    const Tensor& num_batches_tracked, const BatchNormOptions& options);
Variable layer_norm(const Variable& x, const Shape& normalized_shape, const Variable& weight,
                    const Variable& bias, float eps = 1e-5f);
Variable group_norm(const Variable& x, int64_t num_groups, const Variable& weight,
                    const Variable& bias, float eps = 1e-5f);

// ---- regularization ----
// Inverted dropout with the mask of (params.seed, params.stream, *step): `step` is a uint32 device
// tensor whose current value is snapshotted for the backward, then advanced on the device, so
// consecutive calls draw fresh masks (also in captured steps).
Variable dropout(const Variable& x, const Tensor& step, const DropoutParams& params);
// x + sigma·N(0, 1), the same step handling as dropout.
Variable gaussian_noise(const Variable& x, const Tensor& step, const NoiseParams& params);
// The weight with a DropConnect mask (per weight element, shared by the batch).
Variable drop_connect(const Variable& weight, const Tensor& step, const DropoutParams& params);

// ---- losses: one-element Variables (mean or sum reduction) ----
Variable cross_entropy(const Variable& logits, const Tensor& labels,
                       const CrossEntropyOptions& options = {});
Variable mse_loss(const Variable& input, const Tensor& target, Reduction reduction = Reduction::mean);
Variable l1_loss(const Variable& input, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace vkt::nn::F
