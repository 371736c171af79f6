#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_affine.glsl"
#include "norm_windows.glsl"
#include "norm_common.glsl"
// norm_backward_reduce's sums for statistics rows that are the reduction rows and no weight
// (batch norm; group and layer norm without affine), reading dy and x through uniform-buffer
// windows (norm_windows.glsl): windows [0, 7) are dy's, [7, 14) x's.
//   sum_dy[row, chunk] = Σ dy,   sum_dy_xhat[row, chunk] = Σ dy·x̂,   x̂ = (x − mean[row])·invstd[row]
// MASKED: a ReLU was fused after the forward; dy counts only where the forward's
// y = norm_affine(x, mean, invstd, gamma[row], beta[row]) is > 0, recomputed bit for bit as
// norm_backward_reduce does.
layout(constant_id = 1) const bool MASKED = false;
layout(constant_id = 2) const bool MASK_GAMMA = false;
layout(constant_id = 3) const bool MASK_BETA = false;

const uint kPerTensor = kWindows / 2;
layout(std430, binding = 0) readonly buffer Mean { float mean[]; };
layout(std430, binding = 1) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Beta { float beta[]; };
layout(std430, binding = 4) writeonly buffer SumDy { float sum_dy[]; };
layout(std430, binding = 5) writeonly buffer SumDyXhat { float sum_dy_xhat[]; };
layout(std140, binding = 6) uniform Window { vec4 v[kWindowVec4s]; } windows[2 * kPerTensor];

void main() {
  uint row, first_run, runs;
  const bool live = norm_window_chunk(row, first_run, runs);  // uniform over the workgroup
  // A row in range for every workgroup, read before the return (index.glsl: uniform loads first).
  const uint r = min(row, rows - 1u);
  const float m = mean[r], s = invstd[r];
  const float mask_gamma = MASKED && MASK_GAMMA ? gamma[r] : 1.0;
  const float mask_beta = MASKED && MASK_BETA ? beta[r] : 0.0;
  if (!live) return;
  const uint t = gl_LocalInvocationIndex, begin = gl_WorkGroupID.x * seg4;
  const uint slot = gl_WorkGroupID.y * runs_per_chunk;
  // One sum per component (four independent chains), added up in a fixed order at the end.
  vec4 sum_g = vec4(0.0), sum_g_xhat = vec4(0.0);
  for (uint k = 0; k < runs; ++k) {
    for (uint i = begin + t; i < begin + seg4; i += gl_WorkGroupSize.x) {
      vec4 g = windows[slot + k].v[i], xv = windows[kPerTensor + slot + k].v[i];
      vec4 xhat = (xv - m) * s;
      if (MASKED) g *= vec4(greaterThan(norm_affine(xv, m, s, mask_gamma, mask_beta), vec4(0.0)));
      sum_g += g;
      sum_g_xhat += g * xhat;
    }
  }
  vec2 sums = workgroup_sum2(vec2(dot(sum_g, vec4(1.0)), dot(sum_g_xhat, vec4(1.0))), 1);
  if (t != 0) return;
  uint at = row * chunks + first_run / runs_per_chunk;
  sum_dy[at] = sums.x;
  sum_dy_xhat[at] = sums.y;
}
