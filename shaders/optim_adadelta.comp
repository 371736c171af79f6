#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adadelta on one parameter, every element in one pass:
//   g = ±grad + wd·θ,  s = ρs + (1 − ρ)g²,  Δ = √(u + eps) / √(s + eps) · g,
//   u = ρu + (1 − ρ)Δ²,  θ = θ − lr·Δ
layout(constant_id = 1) const uint MAXIMIZE = 0;
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) buffer SquareAvg { float square_avg[]; };
layout(std430, binding = 4) buffer AccDelta { float acc_delta[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 2
#include "optim_guard.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float rho, one_minus_rho;  // 1 − ρ rounded once on the host
  float eps;
  float weight_decay;
};

void main() {
  uint i = global_index();
  if (i >= n || step_skipped()) return;
  float theta = value[i];
  float g = MAXIMIZE != 0 ? -grad[i] : grad[i];
  if (weight_decay != 0.0) g += weight_decay * theta;
  float s = rho * square_avg[i] + one_minus_rho * g * g;
  square_avg[i] = s;
  float u = acc_delta[i];
  float delta = sqrt(u + eps) / sqrt(s + eps) * g;
  acc_delta[i] = rho * u + one_minus_rho * delta * delta;
  value[i] = theta - lrs[group] * delta;
}
