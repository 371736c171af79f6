// Resolving a KernelChoice (vktrain/ops/kernel.hpp) for one GEMM-shaped dispatch.
#pragma once

#include <cstdint>

#include "vktrain/device.hpp"
#include "vktrain/ops/kernel.hpp"

namespace vkt::detail {

// The kernel for a GEMM whose subgroup tile spans `rows` (matmul: M; conv2d: result channels) by
// `columns` (matmul: N; conv2d: positions). An automatic request takes `env_var`'s value if set,
// else the device's default (subgroup on CPU devices). For the subgroup kernel the tile is filled
// in: TM a multiple of the subgroup size (16 x 64 tiles on lavapipe measured fastest,
// docs/performance.md), TN smaller where the columns are few. Throws naming `op` on a bad request.
KernelChoice resolve_kernel(const char* op, const char* env_var, const DeviceInfo& info,
                            KernelChoice requested, int64_t rows, int64_t columns);

}  // namespace vkt::detail
