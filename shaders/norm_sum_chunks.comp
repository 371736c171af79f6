#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "norm_common.glsl"
// Sums the per-chunk partials of norm_backward_reduce (rows, chunks) into (rows,), one workgroup
// per row, in a fixed order.
layout(std430, binding = 0) readonly buffer PartialA { float partial_a[]; };
layout(std430, binding = 1) readonly buffer PartialB { float partial_b[]; };
layout(std430, binding = 2) writeonly buffer OutA { float out_a[]; };
layout(std430, binding = 3) writeonly buffer OutB { float out_b[]; };
layout(push_constant) uniform Push { uint rows, chunks; };

void main() {
  uint row = norm_workgroup();
  if (row >= rows) return;  // uniform over the workgroup
  vec2 sums = vec2(0.0);
  for (uint k = gl_LocalInvocationIndex; k < chunks; k += gl_WorkGroupSize.x)
    sums += vec2(partial_a[row * chunks + k], partial_b[row * chunks + k]);
  sums = workgroup_sum2(sums, 1);
  if (gl_LocalInvocationIndex != 0) return;
  out_a[row] = sums.x;
  out_b[row] = sums.y;
}
