#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "reduce.glsl"
// Softmax cross-entropy per row, one workgroup per row of logits (N, C), looping over C.
// With d = x − m (m = max_j x[j]) and Σexp(d) = ties + rest (ties: entries at the maximum, each
// exp(0) = 1 exactly; rest: the others), the forward writes
//   out[row] = log(ties + rest) − (1 − ε)·d[label] − ε·mean_j d[j],
// three non-negative terms, so nothing cancels, and log(1 + rest) comes from a log1p when the
// maximum is unique: a confident row's small loss keeps its relative accuracy, where float32
// log(Σexp) (PyTorch's) is off by an ulp of 1. The backward writes out[row, j] =
// (softmax_j − target_j)·g, target = (1 − ε)·onehot(label) + ε/C, g = scale (GRAD 0),
// scale·dloss[0] (GRAD 1) or scale·dloss[row] (GRAD 2); at a unique maximum that is the label,
// softmax − 1 is formed as −rest/Σ without cancellation. A label outside [0, C) makes its row's loss
// and gradient NaN. Bindings (logits, labels, dloss, out); the forward and GRAD 0 bind logits in the
// dloss slot unread.
layout(constant_id = 1) const bool BACKWARD = false;
layout(constant_id = 2) const uint GRAD = 0;
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, binding = 2) readonly buffer DLoss { float dloss[]; };
layout(std430, binding = 3) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint rows; uint classes; float smoothing; float scale; };

float workgroup_max(float value) {
  uint t = gl_LocalInvocationIndex;
  reduce_scratch[t] = value;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) reduce_scratch[t] = max(reduce_scratch[t], reduce_scratch[t + stride]);
    barrier();
  }
  float total = reduce_scratch[0];
  barrier();
  return total;
}

// log(1 + u) for u ≥ 0 to a few ulps: 2·atanh(t), t = u/(2 + u) ≤ 1/3, by its odd series (truncation
// below 2e-10) for u ≤ 1; above, 1 + u > 2, outside the range where Vulkan lets log err absolutely.
float log1p_nonnegative(float u) {
  if (u > 1.0) return log(1.0 + u);
  float t = u / (2.0 + u);
  float t2 = t * t;
  float p = 1.0 / 17.0;
  p = p * t2 + 1.0 / 15.0;
  p = p * t2 + 1.0 / 13.0;
  p = p * t2 + 1.0 / 11.0;
  p = p * t2 + 1.0 / 9.0;
  p = p * t2 + 1.0 / 7.0;
  p = p * t2 + 1.0 / 5.0;
  p = p * t2 + 1.0 / 3.0;
  p = p * t2 + 1.0;
  return 2.0 * t * p;
}

void main() {
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  // The row's label and loss gradient before the return (index.glsl: uniform loads go first).
  const uint read_row = min(row, rows - 1u);
  const int label = labels[read_row];
  const float upstream = GRAD == 1 ? dloss[0] : GRAD == 2 ? dloss[read_row] : 1.0;
  const float g = BACKWARD ? scale * upstream : 1.0;
  if (row >= rows) return;  // the whole workgroup leaves together
  uint base = row * classes;
  uint t = gl_LocalInvocationIndex;
  const uint group = gl_WorkGroupSize.x;

  float m = uintBitsToFloat(0xFF800000u);  // −inf
  for (uint j = t; j < classes; j += group) m = max(m, logits[base + j]);
  m = workgroup_max(m);

  float rest = 0.0, ties = 0.0, sum_shifted = 0.0;
  for (uint j = t; j < classes; j += group) {
    float d = logits[base + j] - m;
    if (d == 0.0) ties += 1.0;
    else rest += exp(d);
    sum_shifted += d;
  }
  rest = workgroup_sum(rest);
  ties = workgroup_sum(ties);
  if (smoothing != 0.0) sum_shifted = workgroup_sum(sum_shifted);  // uniform: a push constant
  float sum_exp = ties + rest;
  bool unique_max = ties == 1.0;

  bool valid = label >= 0 && label < int(classes);
  float nan = uintBitsToFloat(0x7FC00000u);
  if (!BACKWARD) {
    if (t == 0) {
      float loss = nan;
      if (valid) {
        float picked = logits[base + uint(label)] - m;
        loss = (unique_max ? log1p_nonnegative(rest) : log(sum_exp)) - (1.0 - smoothing) * picked;
        if (smoothing != 0.0) loss -= smoothing * (sum_shifted / float(classes));
      }
      result[row] = loss;
    }
  } else {
    float inv_sum = 1.0 / sum_exp;
    float off = smoothing / float(classes);
    float on = (1.0 - smoothing) + off;
    for (uint j = t; j < classes; j += group) {
      float d = logits[base + j] - m;
      bool is_label = int(j) == label;
      // softmax − target; at the unique maximum, softmax − 1 = −rest/Σ exactly.
      float diff = unique_max && is_label && d == 0.0 ? (smoothing - off) - rest * inv_sum
                                                     : exp(d) * inv_sum - (is_label ? on : off);
      result[base + j] = valid ? diff * g : nan;
    }
  }
}
