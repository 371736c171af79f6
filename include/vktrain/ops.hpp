// Ops: GPU kernels on tensors, recorded through the device's scheduler (asynchronous).
//
// Every op checks its arguments and throws vkt::Error naming the op, the shapes seen and the shapes
// expected. Functions returning a Tensor allocate the result; `*_into` forms write into a given
// tensor (what captured training steps use, since they must not allocate).
// Layouts: row-major and contiguous; activations are (N, C, H, W).
#pragma once

#include "vktrain/ops/kernel.hpp"
#include "vktrain/tensor.hpp"

// The op families, one header each (the registry: adding a family adds one line here).
#include "vktrain/ops/activation.hpp"
#include "vktrain/ops/augment.hpp"
#include "vktrain/ops/conv.hpp"
#include "vktrain/ops/loss.hpp"
#include "vktrain/ops/norm.hpp"
#include "vktrain/ops/pool.hpp"
#include "vktrain/ops/random.hpp"

namespace vkt {

// ---- fill and copy ----
// Sets every element (integer dtypes get the value converted; float16 is not supported yet).
void fill(const Tensor& tensor, float value);
// dst <- src, same byte size.
void copy(const Tensor& src, const Tensor& dst);
// A new tensor with the same contents (also makes an unaligned view bindable).
Tensor clone(const Tensor& tensor);

// ---- elementwise (same shapes; float32) ----
enum class BinaryOp : uint32_t { add = 0, sub = 1, mul = 2, div = 3 };
void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

// out may be x (in place). sign and clamp follow torch.sign (sign(0) = 0, and NaN gives 0, as
// PyTorch does) and torch.clamp (min(max(x, lo), hi), so lo > hi gives hi; NaN stays NaN).
// replace_nonfinite puts alpha where x is NaN or ±Inf (torch.nan_to_num with one value for all).
// round_to_float16 gives the float16 value nearest x as a float32 (x.half().float() in PyTorch:
// ties to even, float16 subnormals kept, ±inf from 65520 in magnitude on; NaN and ±inf pass).
enum class UnaryOp : uint32_t {
  scale = 0,
  relu = 1,
  add_scalar = 2,
  sign = 3,
  clamp = 4,
  replace_nonfinite = 5,
  round_to_float16 = 6
};
// alpha: the factor (scale), the addend (add_scalar), lo (clamp) or the replacement
// (replace_nonfinite); beta: hi (clamp).
void unary_into(UnaryOp op, const Tensor& x, float alpha, const Tensor& out, float beta = 0.0f);
Tensor scale(const Tensor& x, float alpha);  // alpha * x
Tensor relu(const Tensor& x);                // max(x, 0)
Tensor add_scalar(const Tensor& x, float alpha);
Tensor sign(const Tensor& x);  // −1, 0 or 1
void clamp_into(const Tensor& x, float lo, float hi, const Tensor& out);
Tensor clamp(const Tensor& x, float lo, float hi);
void replace_nonfinite_into(const Tensor& x, float value, const Tensor& out);
Tensor replace_nonfinite(const Tensor& x, float value);
Tensor round_to_float16(const Tensor& x);

// y ← y + alpha·x in place (BLAS axpy: optimizer updates, weight decay, gradient accumulation).
void axpy(float alpha, const Tensor& x, const Tensor& y);

// counter += 1 for a uint32 tensor of one element (the on-device step counter of captured steps).
void increment(const Tensor& counter);

// ---- reductions ----
// Over all elements of a float32 tensor into a 1-element tensor, deterministic (a fixed order of
// float32 additions, Kahan-compensated per invocation, then a tree: no atomics, the same bits on
// every run). An empty tensor sums to 0 (its mean is NaN, as in PyTorch).
void sum_into(const Tensor& x, const Tensor& out);
Tensor sum(const Tensor& x);
void mean_into(const Tensor& x, const Tensor& out);  // Σx / numel
Tensor mean(const Tensor& x);
void sum_squares_into(const Tensor& x, const Tensor& out);  // Σx², the squared L2 norm
Tensor sum_squares(const Tensor& x);
void sum_abs_into(const Tensor& x, const Tensor& out);  // Σ|x|, the L1 norm
Tensor sum_abs(const Tensor& x);
void l2_norm_into(const Tensor& x, const Tensor& out);  // sqrt(Σx²)
Tensor l2_norm(const Tensor& x);

// ---- matmul ----
enum class Activation : uint32_t { none = 0, relu = 1 };
struct MatmulOptions {
  bool transpose_a = false;                  // use Aᵀ: A is stored (K, M)
  bool transpose_b = false;                  // use Bᵀ: B is stored (N, K)
  bool accumulate = false;                   // C += op(A)·op(B) instead of C = ...
  Activation activation = Activation::none;  // applied after the bias
  // Inverted dropout applied last, in the same pass: C = v · m / (1 − p) with the mask that
  // dropout_forward(·, dropout_step, ·, dropout) draws for C's flat index, bit-identical to the
  // matmul followed by dropout_forward. Off when dropout.p is 0 or dropout.training is false;
  // dropout_step (uint32 (1,)) is then unused. Not with accumulate.
  DropoutParams dropout{.p = 0.0f};
  Tensor dropout_step;
  KernelChoice kernel;  // which kernel runs (vktrain/ops/kernel.hpp); results do not depend on it
  // float32, or float16 inputs with float32 sums (vktrain/ops/kernel.hpp); by default the
  // device's setting (set_matmul_precision), float32 unless changed.
  MatmulPrecision precision = MatmulPrecision::device_default;
};
// C (M, N) = op(A) · op(B) [+ bias (N,)]. Batched when A or B is 3-D: (batch, ., .); a 2-D operand
// broadcasts over the batch.
void matmul_into(const Tensor& a, const Tensor& b, const Tensor& c,
                 const MatmulOptions& options = {}, const Tensor& bias = {});
Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options = {},
              const Tensor& bias = {});

}  // namespace vkt
