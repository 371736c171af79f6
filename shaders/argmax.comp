#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Per row of logits (N, C), one workgroup per row: the index of the largest value, the first one on
// ties, a NaN counting as largest (torch.argmax). MODE (constant 1): 0 writes the index (int32);
// 1 writes 1.0 where it equals labels[row] and 0.0 elsewhere (float32), for counting correct rows.
// Bindings (logits, labels, out); mode 0 binds logits in the labels slot unread.
layout(constant_id = 1) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, binding = 2) writeonly buffer Out { uint result[]; };  // int32 or float32 bits
layout(push_constant) uniform Push { uint rows; uint classes; };

shared float best_value[gl_WorkGroupSize.x];
shared uint best_index[gl_WorkGroupSize.x];

// Whether (va, ia) beats (vb, ib): NaN first, then the larger value, then the smaller index.
bool beats(float va, uint ia, float vb, uint ib) {
  bool a_nan = isnan(va), b_nan = isnan(vb);
  if (a_nan || b_nan) return a_nan && (!b_nan || ia < ib);
  return va > vb || (va == vb && ia < ib);
}

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= rows) return;  // the whole workgroup leaves together
  uint base = row * classes;
  uint t = gl_LocalInvocationIndex;
  float value = uintBitsToFloat(0xFF800000u);  // −inf
  uint index = 0xFFFFFFFFu;                   // loses every tie: invocations with no column lose
  for (uint j = t; j < classes; j += gl_WorkGroupSize.x) {
    float v = logits[base + j];
    if (beats(v, j, value, index)) {
      value = v;
      index = j;
    }
  }
  best_value[t] = value;
  best_index[t] = index;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride >>= 1) {
    if (t < stride && beats(best_value[t + stride], best_index[t + stride], best_value[t], best_index[t])) {
      best_value[t] = best_value[t + stride];
      best_index[t] = best_index[t + stride];
    }
    barrier();
  }
  if (t == 0) {
    uint winner = best_index[0];
    result[row] = MODE == 0 ? winner : floatBitsToUint(int(winner) == labels[row] ? 1.0 : 0.0);
  }
}
