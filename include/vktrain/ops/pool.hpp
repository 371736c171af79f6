// Pooling over (N, C, H, W) float32 activations, with PyTorch's semantics:
// torch.nn.functional.max_pool2d (return_indices=True), avg_pool2d and adaptive_avg_pool2d(x, 1).
//
// Windows: Ho = floor((H + 2·pad_h − kernel_h) / stride_h) + 1 (likewise Wo); ceil_mode is not
// supported (always floor), dilation is 1, and padding must be at most half the kernel, as PyTorch
// requires. Max pooling treats padding as −inf; its indices (int32, (N, C, Ho, Wo)) are the flat
// position h·W + w of each window's maximum within its (n, c) plane, the first one on ties, as
// PyTorch returns them. Backward passes gather, per input element, the windows that cover it, so
// overlapping windows add up in a fixed order with no atomics: results are deterministic.
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {

struct Pool2dParams {
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 0, stride_w = 0;  // 0: the kernel size (PyTorch's stride=None)
  int pad_h = 0, pad_w = 0;
  // avg_pool2d: divide by the full window including padding (PyTorch's default) or by the number
  // of elements inside the image.
  bool count_include_pad = true;
};

// Square windows with PyTorch's defaults: pool2d_params(3, 2, 1) is kernel_size=3, stride=2,
// padding=1; stride 0 (the default) means stride = kernel.
Pool2dParams pool2d_params(int kernel, int stride = 0, int padding = 0);

// (N, C, Ho, Wo); throws (naming `op`) when x is not 4-D or the parameters do not fit.
Shape pool2d_output_shape(const Shape& x, const Pool2dParams& params, const char* op = "pool2d");

// ---- max pooling ----
struct MaxPool2dResult {
  Tensor y;        // (N, C, Ho, Wo) float32
  Tensor indices;  // (N, C, Ho, Wo) int32
};
void max_pool2d_forward(const Tensor& x, const Pool2dParams& params, const Tensor& y,
                        const Tensor& indices);
MaxPool2dResult max_pool2d(const Tensor& x, const Pool2dParams& params);
// dx (N, C, H, W) is overwritten: each element gets the sum of dy over the windows whose argmax it
// is.
void max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dParams& params,
                         const Tensor& dx);

// ---- average pooling ----
void avg_pool2d_forward(const Tensor& x, const Pool2dParams& params, const Tensor& y);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
// dx (N, C, H, W) is overwritten.
void avg_pool2d_backward(const Tensor& dy, const Pool2dParams& params, const Tensor& dx);

// ---- global average pooling: (N, C, H, W) -> (N, C, 1, 1), AdaptiveAvgPool2d(1) ----
void global_avg_pool2d_forward(const Tensor& x, const Tensor& y);
Tensor global_avg_pool2d(const Tensor& x);
// dx (N, C, H, W) = dy (N, C, 1, 1) / (H·W), broadcast over each plane.
void global_avg_pool2d_backward(const Tensor& dy, const Tensor& dx);

}  // namespace vkt
