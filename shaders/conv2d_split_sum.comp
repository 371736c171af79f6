#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// result[i] (+)= Σ_s partials[s·n + i], s = 0 .. splits-1 in order: finishes the split-K reductions
// of conv2d's backward passes deterministically (no float atomics).
layout(constant_id = 1) const bool ACCUMULATE = false;
layout(std430, binding = 0) readonly buffer Partials { float partials[]; };  // (splits, n)
layout(std430, binding = 1) buffer Result { float result[]; };              // (n,)
layout(push_constant) uniform Push { uint n, splits; };

void main() {
  uint i = global_index();
  if (i >= n) return;
  float sum = ACCUMULATE ? result[i] : 0.0;
  for (uint s = 0; s < splits; ++s) sum += partials[s * n + i];
  result[i] = sum;
}
