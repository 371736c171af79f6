#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// dx elementwise, with r and c found from the index as in norm_apply, x̂ = (x − mean[r])·invstd[r],
// g = gamma[c] (1 without gamma) and m = `count` elements per statistics row:
//   MODE 0 (group/layer norm; sums per row r, already weighted by gamma):
//          dx = invstd·(dy·g − (Σdy·g + x̂·Σdy·g·x̂)/m)
//   MODE 1 (batch norm, training; sums per channel, unweighted):
//          dx = g·invstd·(dy − (Σdy + x̂·Σdy·x̂)/m)
//   MODE 2 (batch norm, eval: the statistics are constants): dx = dy·g·invstd
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 5) readonly buffer SumDy { float sum_dy[]; };
layout(std430, binding = 6) readonly buffer SumDyXhat { float sum_dy_xhat[]; };
layout(std430, binding = 7) writeonly buffer DX { float dx[]; };
layout(push_constant) uniform Push {
  uint n, stat_div, stat_mod, channel_div, channel_mod;
  float count;
};

void main() {
  uint i = global_index();
  if (i >= n) return;
  uint r = (i / stat_div) % stat_mod;
  float g = HAS_GAMMA ? gamma[(i / channel_div) % channel_mod] : 1.0;
  float s = invstd[r];
  if (MODE == 2) {
    dx[i] = dy[i] * g * s;
    return;
  }
  float xhat = (x[i] - mean[r]) * s;
  float correction = (sum_dy[r] + xhat * sum_dy_xhat[r]) / count;
  dx[i] = MODE == 0 ? s * (dy[i] * g - correction) : g * s * (dy[i] - correction);
}
