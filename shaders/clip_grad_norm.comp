#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// The passes of a deterministic norm over many tensors (torch.nn.utils.clip_grad_norm_):
//   MODE 0, partials: y[w] = Σ map(x) over workgroup w's grid-stride slice of one tensor, for the
//     G = gl_NumWorkGroups.x workgroups; workgroup 0 also zeroes y[G .. slots), so every tensor
//     leaves a whole block of `slots` partials.
//   MODE 1, finish (one workgroup): y[0] = finish(combine of all partials x[0 .. n)).
//   MODE 2, scale: y *= min(1, max_norm / (x[0] + 1e-6)), x[0] being the total norm.
// NORM (constant 2): 2: map g², combine +, finish √;  1: map |g|, combine +;  0 (infinity): map
// |g|, combine max. NORM 1's finish is a plain sum, which the weight penalty's value uses too.
// Sums are Kahan-compensated within an invocation, then a shared-memory tree: a fixed order of
// additions, so the result repeats bit for bit. x is only read and y only written (or updated) in
// every mode, so the declared access of each binding holds for all of them.
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint NORM = 2;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n;
  uint slots;
  float max_norm;
};

shared float max_scratch[gl_WorkGroupSize.x];

float workgroup_max(float value) {
  uint t = gl_LocalInvocationIndex;
  max_scratch[t] = value;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) max_scratch[t] = max(max_scratch[t], max_scratch[t + stride]);
    barrier();
  }
  float result = max_scratch[0];
  barrier();
  return result;
}

float mapped(float v) { return MODE == 1 ? v : NORM == 2 ? v * v : abs(v); }

// combine(map(x[i])) over this invocation's grid-stride slice, then over the workgroup.
float reduce_slice() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (NORM == 0) {
    float result = 0.0;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) result = max(result, mapped(x[i]));
    return workgroup_max(result);
  }
  precise float sum = 0.0;
  precise float carry = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    precise float term = mapped(x[i]) - carry;
    precise float next = sum + term;
    carry = (next - sum) - term;
    sum = next;
  }
  return workgroup_sum(sum);
}

void main() {
  if (MODE == 2) {
    // Before any branch (index.glsl: uniform loads go first).
    const float factor = min(1.0, max_norm / (x[0] + 1e-6));
    uint i = global_index();
    if (i < n) y[i] *= factor;
    return;
  }
  float total = reduce_slice();
  uint t = gl_LocalInvocationIndex;
  if (MODE == 1) {
    if (t == 0) y[0] = NORM == 2 ? sqrt(total) : total;
    return;
  }
  if (t == 0) y[gl_WorkGroupID.x] = total;
  if (gl_WorkGroupID.x == 0)
    for (uint s = gl_NumWorkGroups.x + t; s < slots; s += gl_WorkGroupSize.x) y[s] = 0.0;
}
