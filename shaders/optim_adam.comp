#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adam / AdamW on one parameter, every element in one pass (t = the step count):
//   AdamW: θ = θ − lr·wd·θ;  Adam: g = ±grad + wd·θ
//   m = β₁m + (1 − β₁)g,  v = β₂v + (1 − β₂)g²,  v̂ = max(v̂, v) (AMSGrad) or v
//   θ = θ − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
// The bias corrections 1 − βᵗ are computed as −expm1(t·ln β) with ln β rounded once on the host:
// 1 − β₂ᵗ in float32 would lose digits to cancellation (1 − float(0.999) is 1.3e-5 off 0.001), and
// pow() has no useful precision guarantee in Vulkan.
layout(constant_id = 1) const uint AMSGRAD = 0;
layout(constant_id = 2) const uint DECOUPLED = 0;  // AdamW
layout(constant_id = 3) const uint MAXIMIZE = 0;
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) readonly buffer Step { uint step_count[]; };
layout(std430, binding = 4) buffer ExpAvg { float exp_avg[]; };
layout(std430, binding = 5) buffer ExpAvgSq { float exp_avg_sq[]; };
layout(std430, binding = 6) buffer MaxExpAvgSq { float max_exp_avg_sq[]; };
#define GUARD_BINDING 7
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float beta1, one_minus_beta1, log_beta1;  // 1 − β and ln β rounded once on the host
  float beta2, one_minus_beta2, log_beta2;
  float eps;
  float weight_decay;
};

// 1 − exp(x) for x ≤ 0 without cancellation: a Taylor series near 0 (error below 1e-9 relative for
// |x| ≤ 0.5), exp() beyond, where the result is ≥ 0.39 and exp's error stays relative.
float one_minus_exp(float x) {
  if (x > -0.5) {
    float s = 1.0;
    for (int k = 11; k >= 2; --k) s = 1.0 + s * x / float(k);
    return -x * s;
  }
  return 1.0 - exp(x);
}

void main() {
  uint i = global_index();
  if (i >= n || step_skipped()) return;
  float lr = lrs[group];
  float t = float(step_count[0]);
  float theta = value[i];
  float g = MAXIMIZE != 0 ? -grad[i] : grad[i];
  if (DECOUPLED != 0) theta -= (lr * weight_decay) * theta;
  else if (weight_decay != 0.0) g += weight_decay * theta;

  float m = beta1 * exp_avg[i] + one_minus_beta1 * g;
  float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  if (AMSGRAD != 0) {
    v = max(max_exp_avg_sq[i], v);
    max_exp_avg_sq[i] = v;
  }
  float step_size = lr / one_minus_exp(t * log_beta1);
  float denom = sqrt(v) / sqrt(one_minus_exp(t * log_beta2)) + eps;
  value[i] = theta - step_size * (m / denom);
}
