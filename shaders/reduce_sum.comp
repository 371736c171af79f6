#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// partial[workgroup] = sum of x[i] over a grid-strided slice; run again on the partials to finish.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Partial { float partial[]; };
layout(push_constant) uniform Push { uint n; };

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  float sum = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) sum += x[i];
  sum = workgroup_sum(sum);
  if (gl_LocalInvocationIndex == 0) partial[gl_WorkGroupID.x] = sum;
}
