// Helpers for backward functions in lib/nn.
#pragma once

#include <functional>
#include <memory>

#include "vktrain/autograd.hpp"

namespace vkt::nn::detail {

// Produces an input's gradient contribution with `compute(out, accumulate)`: for a leaf (a
// parameter) it writes straight into the persistent .grad with accumulate = true, so kernels that
// can accumulate (matmul, conv2d weight gradients) save a temporary and an add; otherwise it writes
// into a new tensor (accumulate = false) which is then accumulated.
void grad_into(const std::shared_ptr<Node>& input,
               const std::function<void(const Tensor& out, bool accumulate)>& compute);

// The step value a random op's call uses (a copy, kept for its backward), then the counter
// advances on the device: the backward regenerates the same mask while the next forward draws a
// new one (F::dropout, F::gaussian_noise, F::drop_connect, F::linear_relu_dropout).
Tensor take_step(const Tensor& step, const char* op);

}  // namespace vkt::nn::detail
