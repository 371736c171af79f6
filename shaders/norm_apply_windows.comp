#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_affine.glsl"
#include "norm_plane_windows.glsl"
// norm_apply (y = (x − mean[r]) · invstd[r] · gamma[c] + beta[c], r and c constant over a plane,
// optionally through a fused ReLU) with x read through windows (norm_plane_windows.glsl).
layout(constant_id = 1) const bool HAS_GAMMA = false;
layout(constant_id = 2) const bool HAS_BETA = false;
layout(constant_id = 3) const bool RELU = false;

layout(std430, binding = 0) readonly buffer Mean { float mean[]; };
layout(std430, binding = 1) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Beta { float beta[]; };
layout(std430, binding = 4) writeonly buffer Y { vec4 y[]; };
layout(std140, binding = 5) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];

void main() {
  uint plane, local;
  const bool live = norm_window_plane(plane, local);
  // In range past the last plane too; read before the return (index.glsl: uniform loads go first).
  uint r = (plane / stat_div) % stat_mod, c = (plane / channel_div) % channel_mod;
  float m = mean[r], s = invstd[r];
  float g = HAS_GAMMA ? gamma[c] : 1.0, b = HAS_BETA ? beta[c] : 0.0;
  if (!live) return;
  const uint w = gl_WorkGroupID.y, base = (plane - plane0) * plane_len;
  for (uint o = gl_LocalInvocationIndex; o < plane_len; o += gl_WorkGroupSize.x) {
    vec4 v = norm_affine(windows[w].v[local + o], m, s, g, b);
    if (RELU) v = mix(v, vec4(0.0), lessThan(v, vec4(0.0)));
    y[base + o] = v;
  }
}
