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

}  // namespace vkt::nn::detail
