#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// Max-norm constraint, torch.renorm(w, p = 2, dim = 0, max_norm): one workgroup per row of a
// (rows, row_len) weight; a row whose L2 norm exceeds max_norm is scaled by
// max_norm / (norm + 1e-7). The workgroup sums the row's squares (Kahan within an invocation, a
// fixed tree across: deterministic), then rescales the elements it read. Rows past 65535 workgroups
// fold into y.
layout(std430, binding = 0) buffer Weight { float w[]; };
layout(push_constant) uniform Push {
  uint rows;
  uint row_len;
  float max_norm;
};

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= rows) return;  // uniform per workgroup: the barriers below are still reached by all
  uint base = row * row_len;
  precise float sum = 0.0;
  precise float carry = 0.0;
  for (uint j = gl_LocalInvocationIndex; j < row_len; j += gl_WorkGroupSize.x) {
    float v = w[base + j];
    precise float term = v * v - carry;
    precise float next = sum + term;
    carry = (next - sum) - term;
    sum = next;
  }
  float norm = sqrt(workgroup_sum(sum));
  if (!(norm > max_norm)) return;  // as torch: a NaN norm leaves the row alone
  float factor = max_norm / (norm + 1e-7);
  for (uint j = gl_LocalInvocationIndex; j < row_len; j += gl_WorkGroupSize.x) w[base + j] *= factor;
}
