#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Eval-mode batch norm as a per-channel affine map y = x·scale + shift:
//   scale = gamma / sqrt(running_var + eps),  shift = beta − running_mean·scale
layout(constant_id = 1) const bool HAS_GAMMA = false;
layout(constant_id = 2) const bool HAS_BETA = false;
layout(std430, binding = 0) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 1) readonly buffer Beta { float beta[]; };
layout(std430, binding = 2) readonly buffer Mean { float running_mean[]; };
layout(std430, binding = 3) readonly buffer Var { float running_var[]; };
layout(std430, binding = 4) writeonly buffer Scale { float scale[]; };
layout(std430, binding = 5) writeonly buffer Shift { float shift[]; };
layout(push_constant) uniform Push {
  uint n;
  float eps;
};

void main() {
  uint c = global_index();
  if (c >= n) return;
  float s = inversesqrt(running_var[c] + eps);
  if (HAS_GAMMA) s *= gamma[c];
  scale[c] = s;
  shift[c] = (HAS_BETA ? beta[c] : 0.0) - running_mean[c] * s;
}
