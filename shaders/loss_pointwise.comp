#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Elementwise parts of mse_loss and l1_loss, d = input − target. KIND (constant 1): 0 mse, 1 l1.
// Forward: out = d² or |d| (reduction 'none', or the terms a reduction sums). Backward (constant 2):
// out = g·2d (mse) or g·sign(d) (l1, 0 at d = 0 as PyTorch), g = scale (GRAD 0), scale·dloss[0]
// (GRAD 1) or scale·dloss[i] (GRAD 2). Bindings (input, target, dloss, out); dloss is bound to input
// and unread when not used.
layout(constant_id = 1) const uint KIND = 0;
layout(constant_id = 2) const bool BACKWARD = false;
layout(constant_id = 3) const uint GRAD = 0;
layout(std430, binding = 0) readonly buffer Input { float input_values[]; };
layout(std430, binding = 1) readonly buffer Target { float target[]; };
layout(std430, binding = 2) readonly buffer DLoss { float dloss[]; };
layout(std430, binding = 3) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint n; float scale; };

void main() {
  // Before the return (index.glsl: uniform loads go first).
  const float g0 = scale * (BACKWARD && GRAD == 1 ? dloss[0] : 1.0);
  uint i = global_index();
  if (i >= n) return;
  float d = input_values[i] - target[i];
  if (!BACKWARD) {
    result[i] = KIND == 0 ? d * d : abs(d);
  } else {
    float g = GRAD == 2 ? scale * dloss[i] : g0;
    float slope = KIND == 0 ? 2.0 * d : float(d > 0.0) - float(d < 0.0);
    result[i] = g * slope;
  }
}
