// Kernel choice for the GEMM-shaped ops (matmul, conv2d).
//
// Each has two kernels: `tiled` stages tiles in shared memory (shaders/matmul.comp,
// shaders/conv2d.comp, shaders/conv2d_wgrad.comp), the layout GPUs want; `subgroup` keeps the whole
// tile in registers and shares operands with subgroup broadcasts, with no shared memory or barrier
// (shaders/*_subgroup.comp), which suits CPU devices such as lavapipe, where every non-uniform
// memory access is a per-lane loop. A third, `packed`, reads the operands through uniform-buffer
// windows, which llvmpipe loads without that loop (it needs 14 uniform buffers of 64 KiB per stage
// and a 16-byte uniform offset alignment): for matmul (shaders/matmul_pack.comp,
// shaders/matmul_packed.comp) the subgroup scheme on operands packed into panels, 1.4-2x faster
// on large GEMMs there; for conv2d's three passes of ungrouped convolutions
// (shaders/conv2d_packed.comp, conv2d_wgrad_packed.comp, over a zero-padded copy of the input),
// 1.4-2x; shapes it cannot take (groups, strided backward-data, images or weight tiles larger than
// a window) run `subgroup` with the requested tile. `automatic` takes packed on CPU devices where
// the reduction has at least 32 terms (matmul: and both sides of C at least 16; conv2d
// backward-weight: where Cin·kH·kW is, and below that with lanes owning output channels; conv2d
// forward also where the output rows are unit-stride and whole fours), else subgroup, and the tiled kernel elsewhere. All sum each output's products in the same order
// with fma, so every choice gives bit-identical results. Forcing a kernel is for tests and
// benchmarks; the environment variables VKTRAIN_MATMUL_KERNEL and VKTRAIN_CONV2D_KERNEL (tiled,
// tiled:TM,TN (matmul), subgroup, subgroup:TM,TN, packed or packed:TM,TN) do the same process-wide
// for calls that leave the choice automatic.
#pragma once

#include <cstdint>

namespace vkt {

class Device;

struct KernelChoice {
  enum class Kind : uint32_t { automatic, tiled, subgroup, packed } kind = Kind::automatic;
  // subgroup, packed: TM output rows (matmul) or channels (conv2d) per workgroup, rounded to a
  // multiple of the subgroup size (packed: and to a power of two), and TN columns or positions per
  // lane (packed: rounded up to 4 or 8; conv2d's packed kernel then reads unit-stride rows in
  // quads of 4 columns, or takes the count in (TN/2, TN] that pads an image's positions least);
  // 0 lets the op choose. tiled (matmul only; conv2d ignores them): rows = columns = 8 (128x128
  // tiles of 8x8 outputs per invocation) or 4 (64x64 tiles of 4x4), 0 by C's size.
  uint32_t rows = 0, columns = 0;
};

// How a float32 matmul multiplies (PyTorch: torch.set_float32_matmul_precision, with float16
// where PyTorch's "medium" takes bfloat16).
//   float32         products and sums in float32 (every kernel above; the default).
//   float16_inputs  op(A) and op(B) rounded to float16 (round_to_float16: 11 significant bits,
//                   ±inf past 65504, tiny values in float16's subnormal steps of 2^-24), each
//                   product exact in float32 and summed in float32 — mixed-precision training's
//                   matmul. Where cooperative_matmul_available, the cooperative-matrix kernel
//                   (shaders/matmul_coopmat.comp: tensor cores) runs it, summing in its own
//                   order; elsewhere both operands are rounded first and the float32 kernels
//                   run (the same numbers, no faster). KernelChoice picks among the float32
//                   kernels only.
//   device_default  MatmulOptions' default: the device's setting below.
enum class MatmulPrecision : uint32_t { device_default, float32, float16_inputs };

// The precision of the matmuls on `device` that leave it to the device (every matmul of the nn
// modules and autograd: forward and both gradients of Linear). float32 unless set; setting
// device_default restores float32.
void set_matmul_precision(const Device& device, MatmulPrecision precision);
MatmulPrecision matmul_precision(const Device& device);

// Whether float16_inputs matmuls run on cooperative matrices here: the device has
// DeviceInfo::cooperative_matmul_f16 and is allowlisted — NVIDIA, whose drivers have shipped
// VK_NV_cooperative_matrix on tensor cores since Turing. Other vendors' drivers advertise the
// extension where it can be slower than the float32 kernels. VKTRAIN_COOPERATIVE_MATRIX=0
// turns it off; =1 turns it on for any device with cooperative_matmul_f16 (to try a vendor);
// =emulated runs the kernel with its cooperative-matrix operations emulated by ordinary subgroup
// code on any device with float16 arithmetic (shaders/matmul_coopmat_emulated.comp: slow; it
// lets devices without the extension check the kernel's tiling and epilogue).
bool cooperative_matmul_available(const Device& device);

// Whether the packed kernels (matmul's, conv2d's) can run on this device (its uniform-buffer limits
// allow the windows). Where they cannot, requesting one throws; conformance runs skip them.
bool packed_matmul_available(const Device& device);

}  // namespace vkt
