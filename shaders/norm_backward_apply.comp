#version 450
#extension GL_GOOGLE_include_directive : enable
#include "norm_affine.glsl"
#include "norm_backward.glsl"
#include "norm_planes.glsl"
// dx elementwise over planes, with r and c found as in norm_apply, x̂ = (x − mean[r])·invstd[r],
// g = gamma[c] (1 without gamma) and m = `count` elements per statistics row:
//   MODE 0 (group/layer norm; sums per row r, already weighted by gamma):
//          dx = invstd·(dy·g − (Σdy·g + x̂·Σdy·g·x̂)/m)
//   MODE 1 (batch norm, training; sums per channel, unweighted):
//          dx = g·invstd·(dy − (Σdy + x̂·Σdy·x̂)/m)
//   MODE 2 (batch norm, eval: the statistics are constants): dx = dy·g·invstd
// MASKED: a ReLU was fused after the forward; dy is taken as dy·(y > 0 ? 1 : 0) first, as
// activation.comp's relu backward computes it, with the forward's y recomputed bit for bit as
// norm_affine(x, mean[r], invstd[r], g, beta[c]) (beta 0 without HAS_BETA).
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const uint TILE_X = 256;
layout(constant_id = 4) const bool STAT_PER_OFFSET = false;
layout(constant_id = 5) const bool CHANNEL_PER_OFFSET = false;
// VEC4: plane_len and the offsets count fours of floats (both indices constant over a plane);
// otherwise dy, x and dx are read one float at a time.
layout(constant_id = 6) const bool VEC4 = false;
layout(constant_id = 7) const bool MASKED = false;
layout(constant_id = 8) const bool HAS_BETA = false;  // with MASKED
layout(std430, binding = 0) readonly buffer DY { vec4 dy[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 5) readonly buffer SumDy { float sum_dy[]; };
layout(std430, binding = 6) readonly buffer SumDyXhat { float sum_dy_xhat[]; };
layout(std430, binding = 7) writeonly buffer DX { vec4 dx[]; };
layout(std430, binding = 8) readonly buffer Beta { float beta[]; };
layout(push_constant) uniform Push {
  uint planes, plane_len, run, stat_div, stat_mod, channel_div, channel_mod;
  float count;
};

// The statistics of row r: mean, invstd, Σdy(·g), Σdy(·g)·x̂.
vec4 row_stats(uint r) {
  if (MODE == 2) return vec4(MASKED ? mean[r] : 0.0, invstd[r], 0.0, 0.0);
  return vec4(mean[r], invstd[r], sum_dy[r], sum_dy_xhat[r]);
}

void main() {
  uint plane, o;
  if (!norm_plane_start(TILE_X, planes, run, plane, o)) return;
  uint r = (plane / stat_div) % stat_mod, c = (plane / channel_div) % channel_mod;
  vec4 st = vec4(0.0);
  float g = 1.0, b = 0.0;
  if (!STAT_PER_OFFSET) st = row_stats(r);
  if (HAS_GAMMA && !CHANNEL_PER_OFFSET) g = gamma[c];
  if (MASKED && HAS_BETA && !CHANNEL_PER_OFFSET) b = beta[c];
  uint base = plane * plane_len;
  for (uint k = 0; k < run && o < plane_len; ++k, o += TILE_X) {
    if (STAT_PER_OFFSET) st = row_stats(o);
    if (HAS_GAMMA && CHANNEL_PER_OFFSET) g = gamma[o];
    if (MASKED && HAS_BETA && CHANNEL_PER_OFFSET) b = beta[o];
    uint i = base + o;
    float s = st.y;
    if (VEC4) {
      dx[i] = norm_dx(MODE, MASKED, dy[i], x[i], st, g, b, count);
    } else {
      uint q = i >> 2, j = i & 3;
      float d = dy[q][j];
      if (MASKED) d *= norm_affine(x[q][j], st.x, s, g, b) > 0.0 ? 1.0 : 0.0;
      if (MODE == 2) {
        dx[q][j] = d * g * s;
      } else {
        float xhat = (x[q][j] - st.x) * s;
        float correction = (st.z + xhat * st.w) / count;
        dx[q][j] = MODE == 0 ? s * (d * g - correction) : g * s * (d - correction);
      }
    }
  }
}
