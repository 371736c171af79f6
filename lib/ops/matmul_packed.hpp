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

// C = op(A) · op(B) [+ bias] [activation] with a resolved packed tile (rows = TM, columns = TN).
void packed_matmul(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options,
                   const Tensor& bias, const MatmulShape& shape, const KernelChoice& tile);

}  // namespace vkt::detail
