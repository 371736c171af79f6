#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_windows.glsl"
#include "norm_common.glsl"
// norm_stats (forward Welford statistics of reduction rows, chunk by chunk) reading x through
// uniform-buffer windows (norm_windows.glsl). Writes each chunk's mean and M2 to partials (rows,
// chunks), or, FINAL (one chunk per row), mean and invstd = 1/sqrt(var + eps), var biased.
layout(constant_id = 1) const bool FINAL = false;

layout(std430, binding = 0) writeonly buffer OutMean { float out_mean[]; };    // (rows[, chunks])
layout(std430, binding = 1) writeonly buffer OutSecond { float out_second[]; };  // invstd or M2
layout(std140, binding = 2) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];

void main() {
  uint row, first_run, runs;
  if (!norm_window_chunk(row, first_run, runs)) return;  // uniform over the workgroup
  const uint t = gl_LocalInvocationIndex, begin = gl_WorkGroupID.x * seg4;
  const uint slot = gl_WorkGroupID.y * runs_per_chunk;
  Welford4 s4 = Welford4(0.0, vec4(0.0), vec4(0.0));
  for (uint k = 0; k < runs; ++k)
    for (uint i = begin + t; i < begin + seg4; i += gl_WorkGroupSize.x)
      welford_add4(s4, windows[slot + k].v[i]);
  Welford s = workgroup_welford(welford_fold4(s4), 1);
  if (t != 0) return;
  uint at = row * chunks + first_run / runs_per_chunk;
  out_mean[at] = s.mean;
  out_second[at] = FINAL ? inversesqrt(s.m2 / s.count + eps) : s.m2;
}
