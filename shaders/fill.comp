#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Fills n 32-bit words with one bit pattern (float or integer, converted on the host).
layout(std430, binding = 0) writeonly buffer Out { uint data[]; };
layout(push_constant) uniform Push { uint n; uint bits; };

void main() {
  uint i = global_index();
  if (i < n) data[i] = bits;
}
