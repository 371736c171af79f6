#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_affine.glsl"
#include "norm_backward.glsl"
#include "norm_plane_windows.glsl"
// norm_backward_apply's dx (norm_backward.glsl: MODE 0 group/layer norm, 1 batch norm training,
// 2 batch norm eval; MASKED: a fused ReLU's mask) for r and c constant over a plane, with dy and x
// read through windows (norm_plane_windows.glsl): windows [0, 7) are dy's, [7, 14) x's.
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const bool MASKED = false;
layout(constant_id = 4) const bool HAS_BETA = false;  // with MASKED

const uint kPerTensor = kWindows / 2;
layout(std430, binding = 0) readonly buffer Mean { float mean[]; };
layout(std430, binding = 1) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer SumDy { float sum_dy[]; };
layout(std430, binding = 4) readonly buffer SumDyXhat { float sum_dy_xhat[]; };
layout(std430, binding = 5) readonly buffer Beta { float beta[]; };
layout(std430, binding = 6) writeonly buffer DX { vec4 dx[]; };
layout(std140, binding = 7) uniform Window { vec4 v[kWindowVec4s]; } windows[2 * kPerTensor];

void main() {
  uint plane, local;
  const bool live = norm_window_plane(plane, local);
  // In range past the last plane too; read before the return (index.glsl: uniform loads go first).
  uint r = (plane / stat_div) % stat_mod, c = (plane / channel_div) % channel_mod;
  vec4 st = MODE == 2 ? vec4(MASKED ? mean[r] : 0.0, invstd[r], 0.0, 0.0)
                      : vec4(mean[r], invstd[r], sum_dy[r], sum_dy_xhat[r]);
  float g = HAS_GAMMA ? gamma[c] : 1.0, b = MASKED && HAS_BETA ? beta[c] : 0.0;
  if (!live) return;
  const uint w = gl_WorkGroupID.y, base = (plane - plane0) * plane_len;
  for (uint o = gl_LocalInvocationIndex; o < plane_len; o += gl_WorkGroupSize.x) {
    vec4 d = windows[w].v[local + o], xv = windows[kPerTensor + w].v[local + o];
    dx[base + o] = norm_dx(MODE, MASKED, d, xv, st, g, b, count);
  }
}
