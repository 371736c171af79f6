#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// y = (x − mean[r]) · invstd[r] · gamma[c] + beta[c] elementwise, where element i has statistics
// row r = (i / stat_div) % stat_mod and affine channel c = (i / channel_div) % channel_mod
// (batch norm: r = c = channel; group norm: r = (n, group), c = channel; layer norm: r = row,
// c = position in the normalized shape).
layout(constant_id = 1) const bool HAS_GAMMA = false;
layout(constant_id = 2) const bool HAS_BETA = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Mean { float mean[]; };
layout(std430, binding = 2) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 3) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 4) readonly buffer Beta { float beta[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n, stat_div, stat_mod, channel_div, channel_mod;
};

void main() {
  uint i = global_index();
  if (i >= n) return;
  uint r = (i / stat_div) % stat_mod, c = (i / channel_div) % channel_mod;
  float v = (x[i] - mean[r]) * invstd[r];
  if (HAS_GAMMA) v *= gamma[c];
  if (HAS_BETA) v += beta[c];
  y[i] = v;
}
