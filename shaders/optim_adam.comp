#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adam / AdamW on one parameter, every element in one pass (t = the step count):
//   AdamW: θ = θ − lr·wd·θ;  Adam: g = ±grad + wd·θ
//   m = β₁m + (1 − β₁)g,  v = β₂v + (1 − β₂)g²,  v̂ = max(v̂, v) (AMSGrad) or v
//   θ = θ − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
// The bias corrections are optim_adam_bias.comp's, computed once per step and parameter group.
layout(constant_id = 1) const uint AMSGRAD = 0;
layout(constant_id = 2) const uint DECOUPLED = 0;  // AdamW
layout(constant_id = 3) const uint MAXIMIZE = 0;
layout(constant_id = 5) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 0) buffer Value4 { vec4 value4[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
// (2 · groups): lr/(1 − β₁ᵗ) and √(1 − β₂ᵗ) of each group, from optim_adam_bias.comp
layout(std430, binding = 3) readonly buffer Corrections { float corrections[]; };
layout(std430, binding = 4) buffer ExpAvg { float exp_avg[]; };
layout(std430, binding = 4) buffer ExpAvg4 { vec4 exp_avg4[]; };
layout(std430, binding = 5) buffer ExpAvgSq { float exp_avg_sq[]; };
layout(std430, binding = 5) buffer ExpAvgSq4 { vec4 exp_avg_sq4[]; };
layout(std430, binding = 6) buffer MaxExpAvgSq { float max_exp_avg_sq[]; };
layout(std430, binding = 6) buffer MaxExpAvgSq4 { vec4 max_exp_avg_sq4[]; };
#define GUARD_BINDING 7
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 8
#define VKT_WINDOWED 4
const int value_window = 0;
const int grad_window = 1;
const int exp_avg_window = 2;
const int exp_avg_sq_window = 3;
const int max_exp_avg_sq_window = -1;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float beta1, one_minus_beta1;  // 1 − β rounded once on the host
  float beta2, one_minus_beta2;
  float eps;
  float weight_decay;
};

void main() {
  // Uniform values first, while every invocation is active (index.glsl).
  const bool skipped = step_skipped();
  const float lr = lrs[group];
  const float step_size = corrections[2u * group], correction2 = corrections[2u * group + 1u];
  uint i = global_index();  // elements [4i, 4i + 4)
  if (4u * i >= n || skipped) return;
  vec4 theta = LOAD4(value, i, n);
  vec4 g = LOAD4(grad, i, n);
  if (MAXIMIZE != 0) g = -g;
  if (DECOUPLED != 0) theta -= (lr * weight_decay) * theta;
  else if (weight_decay != 0.0) g += weight_decay * theta;

  vec4 m = beta1 * LOAD4(exp_avg, i, n) + one_minus_beta1 * g;
  vec4 v = beta2 * LOAD4(exp_avg_sq, i, n) + one_minus_beta2 * g * g;
  STORE4(exp_avg, i, n, m)
  STORE4(exp_avg_sq, i, n, v)
  if (AMSGRAD != 0) {
    v = max(LOAD4(max_exp_avg_sq, i, n), v);
    STORE4(max_exp_avg_sq, i, n, v)
  }
  vec4 denom = sqrt(v) / correction2 + eps;
  vec4 result = theta - step_size * (m / denom);
  STORE4(value, i, n, result)
}
