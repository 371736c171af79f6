#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Fills a tensor from the Philox stream (seed, stream, step); one invocation per 4-element block.
// MODE (specialization constant 1): 0 raw 32-bit words, 1 uniform lo + (hi − lo)·u clamped below
// `upper` (so the range stays [lo, hi) after rounding), 2 normal a + b·N(0, 1).
layout(constant_id = 1) const uint MODE = 0;
layout(std430, binding = 0) writeonly buffer Result { uint result[]; };
layout(push_constant) uniform Push {
  uint n;
  uint seed_lo, seed_hi, stream, step;
  float a;      // lo or mean
  float b;      // hi − lo or std
  float upper;  // largest float below hi (uniform)
};

void main() {
  uint block = global_index();
  uint first = 4u * block;
  if (block >= (n + 3u) / 4u) return;
  uvec4 words = philox_block(block, step, stream, seed_lo, seed_hi);
  vec4 normals = MODE == 2u ? philox_normal4(words) : vec4(0.0);
  for (uint k = 0u; k < 4u && first + k < n; ++k) {
    uint value = words[k];
    if (MODE == 1u) value = floatBitsToUint(min(a + b * philox_uniform(words[k]), upper));
    else if (MODE == 2u) value = floatBitsToUint(a + b * normals[k]);
    result[first + k] = value;
  }
}
