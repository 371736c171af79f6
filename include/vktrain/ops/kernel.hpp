// Kernel choice for the GEMM-shaped ops (matmul, conv2d).
//
// Each has two kernels: `tiled` stages tiles in shared memory (shaders/matmul.comp,
// shaders/conv2d.comp, shaders/conv2d_wgrad.comp), the layout GPUs want; `subgroup` keeps the whole
// tile in registers and shares operands with subgroup broadcasts, with no shared memory or barrier
// (shaders/*_subgroup.comp), which suits CPU devices such as lavapipe, where every non-uniform
// memory access is a per-lane loop. `automatic` takes the subgroup kernel on CPU devices and the
// tiled one elsewhere. Both sum each output's products in the same order with fma, so every
// choice gives bit-identical results. Forcing a kernel is for tests and benchmarks; the environment
// variables VKTRAIN_MATMUL_KERNEL and VKTRAIN_CONV2D_KERNEL (tiled, subgroup or subgroup:TM,TN) do
// the same process-wide for calls that leave the choice automatic.
#pragma once

#include <cstdint>

namespace vkt {

struct KernelChoice {
  enum class Kind : uint32_t { automatic, tiled, subgroup } kind = Kind::automatic;
  // subgroup: TM output rows (matmul) or channels (conv2d) per workgroup, rounded to a multiple of
  // the subgroup size, and TN columns or positions per lane; 0 lets the op choose.
  uint32_t rows = 0, columns = 0;
};

}  // namespace vkt
