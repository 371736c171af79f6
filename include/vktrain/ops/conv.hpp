// Convolution: conv2d forward and backward with PyTorch's torch.nn.functional.conv2d semantics.
//
// Layouts: x (N, Cin, H, W), weight (Cout, Cin/groups, kH, kW), bias (Cout,), y (N, Cout, Ho, Wo),
// all float32 and contiguous, with Ho = floor((H + 2·pad_h − dilation_h·(kH − 1) − 1) / stride_h +
// 1) (likewise Wo). Channels split into `groups` independent convolutions (groups = Cin:
// depthwise). Forward, backward-data and backward-weight are implicit GEMMs (no im2col buffer), in
// shared-memory tiles or in registers (vktrain/ops/kernel.hpp); the bias gradient is a per-channel reduction. Results are deterministic
// run to run.
#pragma once

#include "vktrain/ops/kernel.hpp"
#include "vktrain/tensor.hpp"

namespace vkt {

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // zero padding on each side
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
  KernelChoice kernel;  // which kernels run (vktrain/ops/kernel.hpp); results do not depend on it
};

// (N, Cout, Ho, Wo) for x and weight of these shapes; throws (naming "conv2d") when they do not
// fit.
Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dParams& params = {});

// y = conv2d(x, weight) [+ bias]. bias may be an undefined Tensor.
void conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Conv2dParams& params, const Tensor& y);
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const Conv2dParams& params = {});

// Gradients of conv2d_forward given dy (N, Cout, Ho, Wo): dx (x's shape) is overwritten;
// dweight (weight's shape) and dbias (Cout,) are overwritten, or added to when accumulate is true
// (gradient accumulation over micro-batches). Any of dx, dweight, dbias may be undefined to skip
// it. The weight is read only for dx, x only for dweight; either may be undefined when not needed.
void conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                     const Conv2dParams& params, const Tensor& dx, const Tensor& dweight,
                     const Tensor& dbias, bool accumulate = false);

}  // namespace vkt
