// Ops: GPU kernels on tensors, recorded through the device's scheduler (asynchronous).
//
// Every op checks its arguments and throws vkt::Error naming the op, the shapes seen and the shapes
// expected. Functions returning a Tensor allocate the result; `*_into` forms write into a given
// tensor (what captured training steps use, since they must not allocate).
// Layouts: row-major and contiguous; activations are (N, C, H, W).
#pragma once

#include "vktrain/tensor.hpp"

// The op families, one header each (the registry: adding a family adds one line here).
#include "vktrain/ops/activation.hpp"
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

enum class UnaryOp : uint32_t { scale = 0, relu = 1, add_scalar = 2 };
void unary_into(UnaryOp op, const Tensor& x, float alpha, const Tensor& out);
Tensor scale(const Tensor& x, float alpha);  // alpha * x
Tensor relu(const Tensor& x);                // max(x, 0)
Tensor add_scalar(const Tensor& x, float alpha);

// counter += 1 for a uint32 tensor of one element (the on-device step counter of captured steps).
void increment(const Tensor& counter);

// ---- reductions ----
// Sum of all elements into a 1-element tensor.
void sum_into(const Tensor& x, const Tensor& out);
Tensor sum(const Tensor& x);

// ---- matmul ----
enum class Activation : uint32_t { none = 0, relu = 1 };
struct MatmulOptions {
  bool transpose_a = false;  // use Aᵀ: A is stored (K, M)
  bool transpose_b = false;  // use Bᵀ: B is stored (N, K)
  bool accumulate = false;   // C += op(A)·op(B) instead of C = ...
  Activation activation = Activation::none;  // applied after the bias
};
// C (M, N) = op(A) · op(B) [+ bias (N,)]. Batched when A or B is 3-D: (batch, ., .); a 2-D operand
// broadcasts over the batch.
void matmul_into(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options = {},
                 const Tensor& bias = {});
Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options = {},
              const Tensor& bias = {});

}  // namespace vkt
