#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "norm_common.glsl"
// Merges the chunk statistics of norm_stats (rows, chunks) into mean and invstd (rows,), one
// workgroup per row. Chunk k holds min(chunk_len, count - k * chunk_len) elements.
layout(std430, binding = 0) readonly buffer PartialMean { float partial_mean[]; };
layout(std430, binding = 1) readonly buffer PartialM2 { float partial_m2[]; };
layout(std430, binding = 2) writeonly buffer Mean { float mean[]; };
layout(std430, binding = 3) writeonly buffer Invstd { float invstd[]; };
layout(push_constant) uniform Push {
  uint rows, count, chunk_len, chunks;
  float eps;
};

void main() {
  uint row = norm_workgroup();
  if (row >= rows) return;
  Welford s = Welford(0.0, 0.0, 0.0);
  for (uint k = gl_LocalInvocationIndex; k < chunks; k += gl_WorkGroupSize.x) {
    float n = float(min(chunk_len, count - k * chunk_len));
    s = welford_merge(s, Welford(n, partial_mean[row * chunks + k], partial_m2[row * chunks + k]));
  }
  s = workgroup_welford(s, 1);
  if (gl_LocalInvocationIndex != 0) return;
  mean[row] = s.mean;
  invstd[row] = inversesqrt(s.m2 / s.count + eps);
}
