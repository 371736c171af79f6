#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Inverted dropout y = x · (keep ? scale : 0), keep iff (word >> 8) >= threshold, i.e. iff the
// element's uniform is >= p. The same kernel is the backward (dy in, dx out) and DropConnect (on a
// weight): the mask is regenerated from (seed, stream, step, index), never stored. The step is read
// from a device tensor so captured steps replay with the counter the sequence advances.
// VEC4 (vec4_whole: n a multiple of 4, X and Y on 16 bytes): every block of four moves as one vec4
// (on CPU drivers every non-uniform load or store is a loop over the lanes: one loop, not four).
layout(constant_id = 1) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer Step { uint step[]; };  // (1,)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push {
  uint n;
  uint seed_lo, seed_hi, stream;
  uint threshold;  // ceil(p · 2^24)
  float scale;     // 1 / (1 − p), 0 when p = 1
  uint block0;     // the windowed variant's first block (its counter offset); 0 otherwise
};
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 3
#define VKT_WINDOWED 1
const int x_window = 0;
#endif
#include "vec4_access.glsl"

void main() {
  const uint step_now = step[0];  // before any return (index.glsl: uniform loads go first)
  uint block = global_index();
  uint first = 4u * block;
  if (block >= (n + 3u) / 4u) return;
  uvec4 words = philox_block(block0 + block, step_now, stream, seed_lo, seed_hi);
  // A multiply, not a select, as in PyTorch: a dropped NaN or Inf stays NaN.
  vec4 factor = vec4(greaterThanEqual(words >> 8u, uvec4(threshold))) * scale;
  if (VEC4) {
    y4[block] = LOAD4(x, block, n) * factor;
    return;
  }
  for (uint k = 0u; k < 4u && first + k < n; ++k) y[first + k] = x[first + k] * factor[k];
}
