#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// TEMPORARY probe of lavapipe load costs (to be removed).
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint UNROLL = 8;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 2) readonly buffer Src4 { vec4 src4[]; };
layout(push_constant) uniform Push { uint count; uint iterations; uint mask; };
shared float tile[1024];

void main() {
  uint i = global_index();
  uint lane = gl_LocalInvocationIndex;
  if (MODE == 2 || MODE == 3 || MODE == 7) {
    for (uint j = lane; j < 1024; j += gl_WorkGroupSize.x) tile[j] = src[j];
    barrier();
  }
  float sum = 0.0;
  vec4 sum4 = vec4(0);
  uint base = gl_WorkGroupID.x * 64;
  for (uint it = 0; it < iterations; it += UNROLL) {
    for (uint u = 0; u < UNROLL; ++u) {
      uint t = it + u;
      if (MODE == 0) sum += src[(base + t * 64 + lane) & mask];
      if (MODE == 1) sum += src[(base + t) & mask];
      if (MODE == 2) sum += tile[(t * 8 + lane) & 1023];
      if (MODE == 3) sum += tile[t & 1023];
      if (MODE == 4) sum4 += src4[(base + t * 64 + lane) & mask];
      if (MODE == 5) sum4 += src4[(base + t) & mask];
    }
  }
  if (MODE == 6) {
#define L(t) sum += src[(base + t * 64 + lane) & mask];
#define L8(t) L(t*8+0) L(t*8+1) L(t*8+2) L(t*8+3) L(t*8+4) L(t*8+5) L(t*8+6) L(t*8+7)
    L8(0) L8(1) L8(2) L8(3) L8(4) L8(5) L8(6) L8(7)
  }
  if (MODE == 7) {
#define S(t) sum += tile[(t * 8 + lane) & 1023];
#define S8(t) S(t*8+0) S(t*8+1) S(t*8+2) S(t*8+3) S(t*8+4) S(t*8+5) S(t*8+6) S(t*8+7)
    S8(0) S8(1) S8(2) S8(3) S8(4) S8(5) S8(6) S8(7)
  }
  if (MODE == 8) {
    for (uint it = 0; it < iterations; it += UNROLL) {
      for (uint u = 0; u < UNROLL; ++u) sum = sum * 0.999 + float(it + u);
    }
  }
  if (i < count) dst[i] = sum + sum4.x + sum4.y + sum4.z + sum4.w;
}
