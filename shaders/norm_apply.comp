#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_affine.glsl"
#include "norm_planes.glsl"
// y = (x − mean[r]) · invstd[r] · gamma[c] + beta[c] elementwise over planes (norm_planes.glsl):
// r = (p / stat_div) % stat_mod or o (STAT_PER_OFFSET), c = (p / channel_div) % channel_mod or o
// (batch norm: r = c = channel; group norm: r = (n, group), c = channel; layer norm: r = row,
// c = position in the normalized shape), as norm_affine.glsl computes it. RELU: a ReLU fused after
// it, y = max(0, ·) as activation.comp computes it (x < 0 ? 0 : x, NaN passes), saving a pass over
// y; the backward kernels recompute its mask from x.
layout(constant_id = 1) const bool HAS_GAMMA = false;
layout(constant_id = 2) const bool HAS_BETA = false;
layout(constant_id = 3) const uint TILE_X = 256;
layout(constant_id = 4) const bool STAT_PER_OFFSET = false;
layout(constant_id = 5) const bool CHANNEL_PER_OFFSET = false;
// VEC4: plane_len and the offsets count fours of floats (both indices constant over a plane);
// otherwise x and y are read one float at a time.
layout(constant_id = 6) const bool VEC4 = false;
layout(constant_id = 7) const bool RELU = false;
layout(std430, binding = 0) readonly buffer X { vec4 x[]; };
layout(std430, binding = 1) readonly buffer Mean { float mean[]; };
layout(std430, binding = 2) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 3) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 4) readonly buffer Beta { float beta[]; };
layout(std430, binding = 5) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform Push {
  uint planes, plane_len, run, stat_div, stat_mod, channel_div, channel_mod;
};

void main() {
  uint plane, o;
  if (!norm_plane_start(TILE_X, planes, run, plane, o)) return;
  uint r = (plane / stat_div) % stat_mod, c = (plane / channel_div) % channel_mod;
  float m = 0.0, s = 0.0, g = 1.0, b = 0.0;
  if (!STAT_PER_OFFSET) {
    m = mean[r];
    s = invstd[r];
  }
  if (HAS_GAMMA && !CHANNEL_PER_OFFSET) g = gamma[c];
  if (HAS_BETA && !CHANNEL_PER_OFFSET) b = beta[c];
  uint base = plane * plane_len;
  for (uint k = 0; k < run && o < plane_len; ++k, o += TILE_X) {
    if (STAT_PER_OFFSET) {
      m = mean[o];
      s = invstd[o];
    }
    if (HAS_GAMMA && CHANNEL_PER_OFFSET) g = gamma[o];
    if (HAS_BETA && CHANNEL_PER_OFFSET) b = beta[o];
    uint i = base + o;
    if (VEC4) {
      vec4 v = norm_affine(x[i], m, s, g, b);
      if (RELU) v = mix(v, vec4(0.0), lessThan(v, vec4(0.0)));
      y[i] = v;
    } else {
      float v = norm_affine(x[i >> 2][i & 3], m, s, g, b);
      if (RELU) v = v < 0.0 ? 0.0 : v;
      y[i >> 2][i & 3] = v;
    }
  }
}
