#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Folds y = scale·(W·x + b) + shift into one conv/linear layer: for a weight (C_out, ...) with
// `per_channel` elements per output channel, W'[o, ...] = W[o, ...]·scale[o] and
// b'[o] = b[o]·scale[o] + shift[o] (b = 0 without a bias).
layout(constant_id = 1) const bool HAS_BIAS = false;
layout(std430, binding = 0) readonly buffer Weight { float weight[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, binding = 2) readonly buffer Scale { float scale[]; };
layout(std430, binding = 3) readonly buffer Shift { float shift[]; };
layout(std430, binding = 4) writeonly buffer FoldedWeight { float folded_weight[]; };
layout(std430, binding = 5) writeonly buffer FoldedBias { float folded_bias[]; };
layout(push_constant) uniform Push { uint n, per_channel, channels; };

void main() {
  uint i = global_index();
  if (i < n) folded_weight[i] = weight[i] * scale[i / per_channel];
  if (i < channels) folded_bias[i] = (HAS_BIAS ? bias[i] : 0.0) * scale[i] + shift[i];
}
