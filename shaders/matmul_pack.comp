#version 450
// Packs columns [k0, k0 + kc) of X, an R x K matrix stored at
// x[x_offset + r·row_stride + k·k_stride], into the k-major panels shaders/matmul_packed.comp
// reads: panel p holds rows [p·P, p·P + P) as kc x P floats, rows past R zero:
//   packed[p·kc·P + kk·P + r % P] = X[p·P + r % P, k0 + kk].
// One invocation per packed float: x runs over rows (consecutive lanes write consecutive floats),
// workgroup y over kk. lib/ops/matmul_packed.cpp uses it where it cannot copy rows instead.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint P = 16;  // panel width: TM for U, SG·TN for D

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Packed { float packed[]; };
layout(push_constant) uniform Push {
  uint rows;    // R
  uint padded;  // R rounded up to whole panels
  uint k0, kc;
  uint row_stride, k_stride, x_offset;
};

void main() {
  const uint r = gl_GlobalInvocationID.x, kk = gl_WorkGroupID.y;
  if (r >= padded) return;
  float v = 0.0;
  if (r < rows) v = x[x_offset + r * row_stride + (k0 + kk) * k_stride];
  packed[(r / P) * kc * P + kk * P + r % P] = v;
}
