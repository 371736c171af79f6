#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// Weight penalties on one parameter θ, in one grid-stride pass:
//   GRAD (constant 1):     grad += l2·θ + l1·sign(θ)                (sign(0) = 0)
//   PARTIALS (constant 2): partial[w] = Σ l2/2·θ² + l1·|θ| over workgroup w's slice, for the
//     G = gl_NumWorkGroups.x workgroups; workgroup 0 zeroes partial[G .. slots). The blocks are
//     summed by clip_grad_norm's finishing pass (MODE 1, NORM 1).
// Sums are Kahan-compensated within an invocation, then a fixed tree: deterministic.
layout(constant_id = 1) const uint GRAD = 1;
layout(constant_id = 2) const uint PARTIALS = 0;
layout(std430, binding = 0) readonly buffer Value { float value[]; };
layout(std430, binding = 1) buffer Grad { float grad[]; };
layout(std430, binding = 2) buffer Partial { float partial[]; };
layout(push_constant) uniform Push {
  uint n;
  uint slots;
  float l2, half_l2;  // l2/2 rounded once on the host
  float l1;
};

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  precise float sum = 0.0;
  precise float carry = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    float theta = value[i];
    if (GRAD != 0) grad[i] += l2 * theta + l1 * sign(theta);
    if (PARTIALS != 0) {
      precise float term = (half_l2 * theta * theta + l1 * abs(theta)) - carry;
      precise float next = sum + term;
      carry = (next - sum) - term;
      sum = next;
    }
  }
  if (PARTIALS == 0) return;
  float total = workgroup_sum(sum);
  uint t = gl_LocalInvocationIndex;
  if (t == 0) partial[gl_WorkGroupID.x] = total;
  if (gl_WorkGroupID.x == 0)
    for (uint s = gl_NumWorkGroups.x + t; s < slots; s += gl_WorkGroupSize.x) partial[s] = 0.0;
}
