// Random ops: dropout, DropConnect, Gaussian noise and random fills, all drawn from one
// counter-based generator, Philox4x32-10 (include/vktrain/philox.hpp reproduces it on the CPU).
//
// Stream layout. Every random value is a pure function of (seed, stream, step, element index):
//   key     = (seed & 0xffffffff, seed >> 32)          (64-bit seed)
//   counter = (index / 4, step, stream, 0)
//   element `index` takes word index % 4 of the Philox output block for that counter
//   uniform = (word >> 8) * 2^-24, in [0, 1)
//   normal  = Box–Muller on the block's word pairs (0, 1) and (2, 3): u1 = ((w >> 8) + 1) * 2^-24
//             in (0, 1] (log never sees 0), u2 = uniform; elements 4b, 4b+2 get r·cos(2π u2),
//             4b+1, 4b+3 get r·sin(2π u2), r = sqrt(-2 ln u1)
//   dropout and DropConnect masks: eight 16-bit uniforms per block, counter (index / 8, step,
//             stream, 1) (philox::dropout_bits), keep iff uniform >= p — p resolved to 2^-16
// It depends on nothing else — not the workgroup size, the subgroup size or the vendor — so a run
// is reproducible on any GPU and on the CPU (philox::bits, philox::uniform, philox::normal).
// Tensors are limited to 2^32 - 4 elements.
//
// The step. Ops used in training read the step from a uint32 device tensor of one element (the
// `step` argument), not from a host value: a captured training step (Scheduler::capture) then
// draws fresh masks on every replay as the sequence advances the counter on the device
// (vkt::increment). Give every layer its own `stream` id so layers draw independent masks; the
// step counter must hold the same value when a backward runs as when its forward ran.
#pragma once

#include <cstdint>

#include "vktrain/tensor.hpp"

namespace vkt {

// ---- dropout (torch.nn.Dropout, inverted) ----
struct DropoutParams {
  float p = 0.5f;  // probability of zeroing an element, in [0, 1]
  uint64_t seed = 0;
  uint32_t stream = 0;   // one per layer
  bool training = true;  // false: identity
};

// Training: y = x · m / (1 − p), m = 1 with probability 1 − p (keep iff the element's 16-bit
// uniform >= p: the drop probability is p rounded up to a multiple of 2^-16); dropped
// elements are multiplied by 0 (a NaN stays NaN, as in PyTorch). p = 0 and eval copy x (nothing
// when y is x); p = 1 gives zeros. x, y: float32, same shape (any); step: uint32 (1,).
// The backward regenerates the same mask from (seed, stream, step, index): no mask is stored.
void dropout_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                     const DropoutParams& params);
// dx = dy · m / (1 − p) with the forward's mask (same params and step value); eval: dx = dy.
void dropout_backward(const Tensor& dy, const Tensor& step, const Tensor& dx,
                      const DropoutParams& params);
Tensor dropout(const Tensor& x, const Tensor& step, const DropoutParams& params);

// ---- DropConnect (Wan et al., 2013) ----
// The dropout mask applied to a weight: out = weight · m / (1 − p), one mask bit per weight
// element, drawn once per step and shared by every sample of the batch (use `out` as the layer's
// weight for that step). Same layout and rules as dropout; give it a stream id of its own.
void drop_connect_forward(const Tensor& weight, const Tensor& step, const Tensor& out,
                          const DropoutParams& params);
// d_weight = d_out · m / (1 − p), d_out the gradient with respect to the masked weight.
void drop_connect_backward(const Tensor& d_out, const Tensor& step, const Tensor& d_weight,
                           const DropoutParams& params);

// ---- additive Gaussian noise (activations or weights) ----
struct NoiseParams {
  float sigma = 0.1f;  // >= 0
  uint64_t seed = 0;
  uint32_t stream = 0;
  bool training = true;  // false: identity
};
// Training: y = x + sigma · N(0, 1), the normals of stream (seed, stream, step) as laid out above.
// sigma = 0 and eval copy x. x, y: float32, same shape; step: uint32 (1,).
void gaussian_noise_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                            const NoiseParams& params);
// The noise is additive: dx = dy (a copy, nothing when dx is dy).
void gaussian_noise_backward(const Tensor& dy, const Tensor& dx);

// ---- fills (initialization; step 0, host-side seed) ----
// Uniform in [lo, hi) (lo == hi gives lo): lo + (hi − lo)·u, clamped below hi against rounding.
void uniform_fill(const Tensor& tensor, float lo, float hi, uint64_t seed, uint32_t stream = 0);
// mean + std · N(0, 1), std >= 0.
void normal_fill(const Tensor& tensor, float mean, float std, uint64_t seed, uint32_t stream = 0);
// The raw 32-bit words of stream (seed, stream, step) into a uint32 tensor: what tests and users
// compare with philox::bits on the CPU.
void random_bits_into(const Tensor& out, uint64_t seed, uint32_t stream = 0, uint32_t step = 0);
// Philox4x32-10 of explicit blocks, for known-answer tests: blocks (n, 6) uint32 rows of
// (counter0, counter1, counter2, counter3, key0, key1) -> out (n, 4) uint32.
void philox4x32_into(const Tensor& blocks, const Tensor& out);

}  // namespace vkt
