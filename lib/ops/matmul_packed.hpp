// The packed matmul (KernelChoice::Kind::packed): lib/ops/matmul.cpp checks the arguments and
// chooses the kernel; this records the packing and GEMM dispatches.
#pragma once

#include <cstdint>

#include "vktrain/ops.hpp"

namespace vkt::detail {

// The shape of one matmul_into call, as lib/ops/matmul.cpp derived it.
struct MatmulShape {
  int64_t m, n, k, batch;
  bool batched_a, batched_b;
};

// The push constants of shaders/matmul.comp, matmul_subgroup.comp and matmul_coopmat.comp: sizes
// and each batch's element stride (0: the operand broadcasts).
struct GemmSizes {
  uint32_t m, n, k, stride_a, stride_b, stride_c;
};
inline GemmSizes gemm_sizes(const MatmulShape& s) {
  return {uint32_t(s.m),
          uint32_t(s.n),
          uint32_t(s.k),
          s.batched_a ? uint32_t(s.m * s.k) : 0u,
          s.batched_b ? uint32_t(s.k * s.n) : 0u,
          uint32_t(s.m * s.n)};
}

// The dropout epilogue (MatmulOptions::dropout) of matmul.comp, matmul_subgroup.comp and
// matmul_packed.comp: whether it is on, and its push constants (shaders/common/
// dropout_epilogue.glsl: VKT_DROPOUT_PUSH), zeros where it is off. lib/ops/matmul.cpp.
bool dropout_epilogue(const MatmulOptions& options);
struct DropoutPush {
  uint32_t seed_lo = 0, seed_hi = 0, stream = 0, threshold = 0;
  float scale = 0.0f;
};
DropoutPush dropout_push(const MatmulOptions& options);

// C = op(A) · op(B) [+ bias] [activation] [dropout] with a resolved packed tile (rows = TM,
// columns = TN).
void packed_matmul(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options,
                   const Tensor& bias, const MatmulShape& shape, const KernelChoice& tile);

}  // namespace vkt::detail
