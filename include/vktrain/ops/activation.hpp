// Activations: relu, leaky_relu, elu, sigmoid, tanh and gelu (exact, or the tanh approximation),
// forward and backward, with PyTorch's definitions (torch.nn.functional.*).
//
// All are elementwise on float32 tensors of any shape, computed by one kernel family
// (shaders/activation.comp). The output may be the input itself (in place), and the backward's dx
// may be dy. `param` is negative_slope for leaky_relu and alpha for elu (PyTorch's defaults 0.01
// and 1 when not given); the others take none.
#pragma once

#include <cstdint>
#include <optional>

#include "vktrain/tensor.hpp"

namespace vkt {

enum class ActivationKind : uint32_t {
  relu = 0,        // max(x, 0)
  leaky_relu = 1,  // x > 0 ? x : negative_slope·x
  elu = 2,         // x > 0 ? x : alpha·(exp(x) − 1)
  sigmoid = 3,     // 1 / (1 + exp(−x))
  tanh = 4,
  gelu = 5,       // x·Φ(x), Φ the standard normal CDF (approximate='none')
  gelu_tanh = 6,  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (approximate='tanh')
};

// "relu", "leaky_relu", ... (the op names in errors and conformance reports).
const char* activation_name(ActivationKind kind);

// y = f(x); x and y have the same shape (y may be x).
void activation_forward(ActivationKind kind, const Tensor& x, const Tensor& y,
                        std::optional<float> param = std::nullopt);
Tensor activation(ActivationKind kind, const Tensor& x, std::optional<float> param = std::nullopt);

// dx = dy · f'(x). The derivative is computed from x, or from the forward's output y where that is
// exact (the memory-saving choice when x was overwritten in place): relu; leaky_relu with
// negative_slope ≥ 0; elu with alpha ≥ 0; sigmoid and tanh (which prefer y, as PyTorch does).
// gelu and gelu_tanh need x. Pass what you kept and leave the other undefined (Tensor{}).
void activation_backward(ActivationKind kind, const Tensor& dy, const Tensor& x, const Tensor& y,
                         const Tensor& dx, std::optional<float> param = std::nullopt);
Tensor activation_backward(ActivationKind kind, const Tensor& dy, const Tensor& x, const Tensor& y,
                           std::optional<float> param = std::nullopt);

// The backward of relu followed by inverted dropout (scale = 1 / (1 − p), philox::dropout_scale),
// from the dropped output y alone: dx = (dy · scale) · (y > 0). y > 0 exactly where the element was
// kept and its pre-activation positive, so this is bit-identical to dropout_backward followed by
// relu's backward, with no mask regenerated (matmul's dropout epilogue, F::linear's backward).
void relu_dropout_backward(const Tensor& dy, const Tensor& y, float scale, const Tensor& dx);

}  // namespace vkt
