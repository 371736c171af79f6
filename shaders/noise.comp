#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Additive Gaussian noise y = x + sigma · N(0, 1), the normals by Box–Muller from the Philox
// stream (seed, stream, step); the step is read from a device tensor (see dropout.comp).
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Step { uint step[]; };  // (1,)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n;
  uint seed_lo, seed_hi, stream;
  float sigma;
};

void main() {
  const uint step_now = step[0];  // before any return (index.glsl: uniform loads go first)
  uint block = global_index();
  uint first = 4u * block;
  if (block >= (n + 3u) / 4u) return;
  vec4 normals = philox_normal4(philox_block(block, step_now, stream, seed_lo, seed_hi));
  for (uint k = 0u; k < 4u && first + k < n; ++k) y[first + k] = x[first + k] + sigma * normals[k];
}
