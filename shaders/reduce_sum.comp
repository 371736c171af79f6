#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// partial[workgroup] = finish(Σ map(x[i])) / divisor over a grid-strided slice; run again (identity
// map) on the partials to finish. MAP (constant 1): 0 x, 1 x², 2 |x|. FINISH (constant 2): 0 none,
// 1 sqrt. Each invocation sums its slice with Kahan compensation, then the workgroup tree adds the
// slices: a fixed order, so results repeat bit for bit.
layout(constant_id = 1) const uint MAP = 0;
layout(constant_id = 2) const uint FINISH = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Partial { float partial[]; };
layout(push_constant) uniform Push { uint n; float divisor; };

float mapped(float v) { return MAP == 1 ? v * v : MAP == 2 ? abs(v) : v; }

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  // `precise` keeps the compiler from contracting or reassociating the compensation away.
  precise float sum = 0.0;
  precise float carry = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    precise float term = mapped(x[i]) - carry;
    precise float next = sum + term;
    carry = (next - sum) - term;
    sum = next;
  }
  float total = workgroup_sum(sum);
  if (gl_LocalInvocationIndex == 0)
    partial[gl_WorkGroupID.x] = (FINISH == 1 ? sqrt(total) : total) / divisor;
}
