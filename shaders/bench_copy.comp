#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Copy bandwidth (vktrain-bench's memory ceiling): dst = src over vec4 elements, VEC4S contiguous
// ones per invocation, so every byte is read once and written once.
layout(constant_id = 1) const uint VEC4S = 1;

layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform Push { uint count; };  // vec4 elements in all

void main() {
  uint first = global_index() * VEC4S;
  for (uint j = 0; j < VEC4S; ++j) {
    if (first + j < count) dst[first + j] = src[first + j];
  }
}
