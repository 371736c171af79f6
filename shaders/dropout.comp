#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Inverted dropout y = x · (keep ? scale : 0), keep iff the element's 16 mask bits >= threshold,
// i.e. iff its 16-bit uniform is >= p (philox.glsl: philox_dropout_block; one Philox block per
// eight elements, each invocation two blocks of four). The same kernel is the backward (dy in,
// dx out) and DropConnect (on a weight): the mask is regenerated from (seed, stream, step, index), never stored. The step is read
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
  uint threshold;  // ceil(p · 2^16)
  float scale;     // 1 / (1 − p), 0 when p = 1
  uint block0;     // the windowed variant's first block of four (even); 0 otherwise
};
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 3
#define VKT_WINDOWED 1
const int x_window = 0;
#endif
#include "vec4_access.glsl"

void main() {
  const uint step_now = step[0];  // before any return (index.glsl: uniform loads go first)
  // One Philox block per eight elements: pair p covers the blocks of four 2p and 2p + 1.
  const uint pair = global_index();
  const uint blocks = (n + 3u) / 4u;
  if (pair >= (blocks + 1u) / 2u) return;
  const uint block = 2u * pair;
  uvec4 words = philox_dropout_block(block0 / 2u + pair, step_now, stream, seed_lo, seed_hi);
  // A multiply, not a select, as in PyTorch: a dropped NaN or Inf stays NaN.
  vec4 factor_lo = vec4(greaterThanEqual(words & 0xFFFFu, uvec4(threshold))) * scale;
  vec4 factor_hi = vec4(greaterThanEqual(words >> 16u, uvec4(threshold))) * scale;
  if (VEC4) {
    y4[block] = LOAD4(x, block, n) * factor_lo;
    if (block + 1u < blocks) y4[block + 1u] = LOAD4(x, block + 1u, n) * factor_hi;
    return;
  }
  const uint first = 4u * block;
  for (uint k = 0u; k < 4u && first + k < n; ++k) y[first + k] = x[first + k] * factor_lo[k];
  for (uint k = 4u; k < 8u && first + k < n; ++k) y[first + k] = x[first + k] * factor_hi[k - 4u];
}
