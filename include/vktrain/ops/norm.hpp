// Normalization ops: batch norm, layer norm, group norm and instance norm, forward and backward,
// with PyTorch's semantics (torch.nn.BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm1d/2d).
//
// Every forward normalizes y = (x − mean)/sqrt(var + eps)·γ + β with the biased variance, computed
// on the GPU by a Welford/Chan reduction (stable when the mean is large against the spread), and
// saves mean and invstd = 1/sqrt(var + eps) per statistics row for the backward. The `*_forward` /
// `*_backward` forms write into given tensors (what captured training steps use); the short forms
// allocate their results. Optional tensors are passed undefined (Tensor{}): γ and β when the layer
// has no affine parameters, gradients not wanted, saved statistics not wanted. Outputs must not
// alias inputs. Gradients are written, not accumulated. Tensors are float32 and contiguous, the
// step counter num_batches_tracked is uint32. The reductions allocate small scratch tensors
// (per-chunk partials, per-row sums) when recorded; a captured sequence keeps its own, so replays
// allocate nothing.
#pragma once

#include <optional>

#include "vktrain/tensor.hpp"

namespace vkt {

// What the forwards return in their allocating forms.
struct NormOutput {
  Tensor y;
  Tensor save_mean;    // per statistics row, for the backward
  Tensor save_invstd;  // 1/sqrt(var + eps), likewise
};
// What the backwards return in their allocating forms (dgamma and dbeta only with γ).
struct NormGradients {
  Tensor dx, dgamma, dbeta;
};

// ---- batch norm ----
// x: (N, C), (N, C, L) (BatchNorm1d) or (N, C, H, W) (BatchNorm2d); any (N, C, *) works.
// Statistics per channel over the m = N·(L or H·W) elements of that channel.
struct BatchNormOptions {
  float eps = 1e-5f;
  // Running-statistics factor; empty (None) means a cumulative moving average,
  // factor 1/num_batches_tracked (read on the device after its increment).
  std::optional<float> momentum = 0.1f;
  bool training = true;
  // A ReLU fused after the normalization, y = max(0, BN(x)) in the same pass (nn::Sequential uses
  // it for BatchNorm followed by ReLU); its backward takes a FusedRelu.
  bool relu = false;
};

// For the backward of a forward with BatchNormOptions::relu: dy (the gradient of that y) passes
// through the ReLU first, dy·(y > 0), in the same kernels. y itself is not read: the kernels
// recompute it from x, the saved statistics, gamma and this beta, bit for bit as the forward
// computed it (shaders/common/norm_affine.glsl), which saves two passes over the tensor.
struct FusedRelu {
  Tensor beta;  // the forward's beta (C,); undefined when it had none
};

// training: normalizes with the batch mean and biased variance; when running_mean and running_var
//   are given, updates them on the device in the same step (running_var with the unbiased variance
//   var·m/(m − 1)) and increments num_batches_tracked (u32, 1 element; required when momentum is
//   None). Throws when m == 1, as PyTorch does; an empty batch (N = 0) changes nothing.
// eval: normalizes with running_mean and running_var; without running statistics
//   (track_running_stats=False) it uses batch statistics, as in training, and updates nothing.
// save_mean, save_invstd (C,) receive the statistics used (batch, or running_mean and
// 1/sqrt(running_var + eps) in eval); they may be undefined when no backward follows.
// gamma, beta (C,) or undefined (affine=False).
void batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        const Tensor& running_mean, const Tensor& running_var,
                        const Tensor& num_batches_tracked, const Tensor& save_mean,
                        const Tensor& save_invstd, const Tensor& y,
                        const BatchNormOptions& options = {});
NormOutput batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& num_batches_tracked, const BatchNormOptions& options = {});

// True when the forward normalizes with batch statistics (training, or no running statistics):
// the `batch_stats` argument of batch_norm_backward.
bool batch_norm_uses_batch_stats(const BatchNormOptions& options, const Tensor& running_mean);

// From save_mean and save_invstd of the forward. batch_stats: the forward used batch statistics
// (dx = γ·invstd/m·(m·dy − Σdy − x̂·Σdy·x̂)); false: eval with running statistics, which are
// constants (dx = dy·γ·invstd). dgamma = Σ dy·x̂, dbeta = Σ dy per channel. dx, dgamma, dbeta may be
// undefined to skip them. relu: the forward fused a ReLU (FusedRelu).
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                         const Tensor& dgamma, const Tensor& dbeta, bool batch_stats = true,
                         const std::optional<FusedRelu>& relu = std::nullopt);
NormGradients batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd,
                                  bool batch_stats = true,
                                  const std::optional<FusedRelu>& relu = std::nullopt);

// Eval-mode batch norm as a per-channel affine map y = x·scale + shift:
// scale = γ/sqrt(running_var + eps), shift = β − running_mean·scale (γ = 1, β = 0 when undefined).
struct BatchNormFold {
  Tensor scale, shift;  // (C,)
};
void batch_norm_fold_into(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                          const Tensor& running_var, float eps, const Tensor& scale,
                          const Tensor& shift);
BatchNormFold batch_norm_fold(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                              const Tensor& running_var, float eps = 1e-5f);

// Folds an eval-mode batch norm into the conv or linear layer before it: for a weight (C_out, ...)
// (conv (C_out, C_in/groups, kH, kW), linear (out, in)) and bias (C_out,) or undefined,
// W'[o] = W[o]·scale[o] and b'[o] = b[o]·scale[o] + shift[o]. Not for transposed convs, whose
// weight is (C_in, C_out/groups, ...).
struct FoldedLayer {
  Tensor weight, bias;
};
void batch_norm_fold_weights_into(const Tensor& weight, const Tensor& bias,
                                  const BatchNormFold& fold, const Tensor& folded_weight,
                                  const Tensor& folded_bias);
FoldedLayer batch_norm_fold_weights(const Tensor& weight, const Tensor& bias,
                                    const BatchNormFold& fold);

// ---- layer norm ----
// Normalizes over the last D elements, D = numel(normalized_shape), which must equal x's trailing
// dimensions; statistics per leading row (R = numel(x)/D rows). gamma, beta: normalized_shape or
// (D,), each optional (elementwise_affine=False, or bias=False). save_mean, save_invstd: R
// elements.
void layer_norm_forward(const Tensor& x, const Shape& normalized_shape, const Tensor& gamma,
                        const Tensor& beta, const Tensor& save_mean, const Tensor& save_invstd,
                        const Tensor& y, float eps = 1e-5f);
NormOutput layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& gamma,
                      const Tensor& beta, float eps = 1e-5f);
// dx = invstd/D·(D·dy·γ − Σdy·γ − x̂·Σdy·γ·x̂) per row; dgamma = Σ dy·x̂, dbeta = Σ dy over rows.
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape,
                         const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd,
                         const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta);
NormGradients layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape,
                                  const Tensor& gamma, const Tensor& save_mean,
                                  const Tensor& save_invstd);

// ---- group norm and instance norm ----
// x (N, C, *) with C divisible by num_groups; statistics per (sample, group) over C/G·(*) elements;
// gamma, beta (C,) per channel, each optional. save_mean, save_invstd: (N, G) (N·G elements).
void group_norm_forward(const Tensor& x, int64_t num_groups, const Tensor& gamma,
                        const Tensor& beta, const Tensor& save_mean, const Tensor& save_invstd,
                        const Tensor& y, float eps = 1e-5f);
NormOutput group_norm(const Tensor& x, int64_t num_groups, const Tensor& gamma, const Tensor& beta,
                      float eps = 1e-5f);
// dx = invstd/M·(M·dy·γ − Σdy·γ − x̂·Σdy·γ·x̂) per group (M elements); dgamma, dbeta per channel.
void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t num_groups, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                         const Tensor& dgamma, const Tensor& dbeta);
NormGradients group_norm_backward(const Tensor& dy, const Tensor& x, int64_t num_groups,
                                  const Tensor& gamma, const Tensor& save_mean,
                                  const Tensor& save_invstd);

// InstanceNorm1d/2d: group norm with one group per channel, x (N, C, L) or (N, C, H, W) with more
// than one spatial element; gamma, beta (C,) optional (PyTorch's default is affine=False). Always
// normalizes with the instance's own statistics: running statistics (track_running_stats=True)
// are not supported. save_mean, save_invstd: (N, C).
void instance_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& y,
                           float eps = 1e-5f);
NormOutput instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                         float eps = 1e-5f);
void instance_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                            const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                            const Tensor& dgamma, const Tensor& dbeta);
NormGradients instance_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                     const Tensor& save_mean, const Tensor& save_invstd);

}  // namespace vkt
