#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// Global average pooling forward: one workgroup per (n, c) plane (x + y·65535 when folded), a
// strided walk of the plane then a shared-memory tree, so the order of additions is fixed.
layout(std430, binding = 0) readonly buffer X { float x[]; };   // (N, C, H, W)
layout(std430, binding = 1) writeonly buffer Y { float y[]; };  // (N, C, 1, 1)
layout(push_constant) uniform Push { uint planes, plane_size; };

void main() {
  uint plane = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (plane >= planes) return;  // uniform per workgroup: the tree below stays convergent
  float sum = 0.0;
  uint base = plane * plane_size;
  for (uint i = gl_LocalInvocationIndex; i < plane_size; i += gl_WorkGroupSize.x) sum += x[base + i];
  sum = workgroup_sum(sum);
  if (gl_LocalInvocationIndex == 0) y[plane] = sum / float(plane_size);
}
