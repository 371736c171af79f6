#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Philox4x32-10 of explicit blocks, for known-answer tests: row i of `blocks` is
// (counter0..3, key0, key1), row i of `result` its four output words.
layout(std430, binding = 0) readonly buffer Blocks { uint blocks[]; };  // (n, 6)
layout(std430, binding = 1) writeonly buffer Result { uint result[]; };  // (n, 4)
layout(push_constant) uniform Push { uint n; };

void main() {
  uint i = global_index();
  if (i >= n) return;
  uint b = 6u * i;
  uvec4 words = philox4x32_10(uvec4(blocks[b], blocks[b + 1u], blocks[b + 2u], blocks[b + 3u]),
                              uvec2(blocks[b + 4u], blocks[b + 5u]));
  for (uint k = 0u; k < 4u; ++k) result[4u * i + k] = words[k];
}
