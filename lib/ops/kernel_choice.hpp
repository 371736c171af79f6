// Resolving a KernelChoice (vktrain/ops/kernel.hpp) for one GEMM-shaped dispatch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <vector>

#include "vktrain/device.hpp"
#include "vktrain/ops/kernel.hpp"
#include "vktrain/tensor.hpp"

namespace vkt::detail {

// The kernel for a GEMM whose subgroup tile spans `rows` (matmul: M; conv2d: result channels) by
// `columns` (matmul: N; conv2d: positions). An automatic request takes `env_var`'s value if set,
// else the device's default (subgroup on CPU devices). For the subgroup kernel the tile is filled
// in: TM a multiple of the subgroup size, up to four subgroups of rows (32 x 64 tiles on lavapipe:
// docs/performance-notes.md, 2026-12-02), TN smaller where the columns are few. `packed`: whether
// the op has a packed kernel this device can run (packed_matmul_available: the uniform-buffer
// limits) and whether an automatic request on a CPU device takes it for this shape;
// `packed_row_subgroups`: the packed tile's default TM in subgroups where `rows` exceed one (two
// for matmul and conv2d's backward-weight, one for conv2d forward and backward-data:
// docs/performance-notes.md, Change 19); `packed_columns`: the packed tile's default TN where the
// columns allow, and the largest it takes (8 for matmul, whose D panels are read 4 or 8 floats a
// lane; 16 for conv2d forward and backward-data, Change 42). Throws naming `op` on a bad request.
enum class PackedKernel { none, available, preferred };
KernelChoice resolve_kernel(const char* op, const char* env_var, const DeviceInfo& info,
                            KernelChoice requested, int64_t rows, int64_t columns,
                            PackedKernel packed = PackedKernel::none,
                            uint32_t packed_row_subgroups = 2, uint32_t packed_columns = 8);

// resolve_kernel with the autotuner (lib/core/tuner.hpp): an automatic request with no
// environment override takes the device's remembered choice for `key()` (called only then: the
// common eager path builds no key) or, when autotuning is on
// and the scheduler is not capturing, times the candidates now — `record(choice)` must record the
// op once, on scratch tensors, with that explicit choice — and remembers the fastest.
KernelChoice tuned_kernel(const Device& device, const char* op, const char* env_var,
                          KernelChoice requested, int64_t rows, int64_t columns,
                          const std::function<std::string()>& key,
                          const std::function<void(const KernelChoice&)>& record,
                          PackedKernel packed = PackedKernel::none,
                          uint32_t packed_row_subgroups = 2, uint32_t packed_columns = 8);

// The power of two at or above n (n >= 1): problem sizes in tuning keys, so that nearby shapes
// share one tuned choice.
int64_t size_bucket(int64_t n);

// What the tuner times candidates on: tensors shaped like an op's operands and results (inputs
// filled with 0.5), made on first use, so an op's real outputs are never written (or accumulated
// into) more than once.
class TuningScratch {
 public:
  explicit TuningScratch(std::vector<Tensor> like) : like_(std::move(like)) {}
  const std::vector<Tensor>& tensors() {
    if (made_.empty())
      for (const Tensor& t : like_) made_.push_back(Tensor::full(t.device(), t.shape(), 0.5f));
    return made_;
  }

 private:
  std::vector<Tensor> like_, made_;
};

// "tiled", "subgroup:TM,TN" or "packed:TM,TN": the names in the tuning file.
std::string kernel_name(const KernelChoice& choice);

}  // namespace vkt::detail
