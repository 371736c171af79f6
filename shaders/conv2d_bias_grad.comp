#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// dbias[c] (+)= Σ_{n, h, w} dy[n, c, h, w]: one workgroup per channel (x + y·65535 when folded),
// a strided walk of the channel's values then a shared-memory tree, so the order is fixed.
layout(constant_id = 1) const bool ACCUMULATE = false;
layout(std430, binding = 0) readonly buffer Grad { float dy[]; };  // (N, C, H, W)
layout(std430, binding = 1) buffer Bias { float dbias[]; };        // (C,)
layout(push_constant) uniform Push { uint batch, channels, plane; };

void main() {
  uint c = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (c >= channels) return;  // uniform per workgroup: the tree below stays convergent
  float sum = 0.0;
  // Walk the N·H·W values of channel c as one range, so small planes still use every invocation.
  for (uint i = gl_LocalInvocationIndex; i < batch * plane; i += gl_WorkGroupSize.x)
    sum += dy[((i / plane) * channels + c) * plane + i % plane];
  sum = workgroup_sum(sum);
  if (gl_LocalInvocationIndex == 0) dbias[c] = ACCUMULATE ? dbias[c] + sum : sum;
}
