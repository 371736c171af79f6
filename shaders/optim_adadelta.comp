#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adadelta on one parameter, every element in one pass:
//   g = ±grad + wd·θ,  s = ρs + (1 − ρ)g²,  Δ = √(u + eps) / √(s + eps) · g,
//   u = ρu + (1 − ρ)Δ²,  θ = θ − lr·Δ
layout(constant_id = 1) const uint MAXIMIZE = 0;
layout(constant_id = 3) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 0) buffer Value4 { vec4 value4[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) buffer SquareAvg { float square_avg[]; };
layout(std430, binding = 3) buffer SquareAvg4 { vec4 square_avg4[]; };
layout(std430, binding = 4) buffer AccDelta { float acc_delta[]; };
layout(std430, binding = 4) buffer AccDelta4 { vec4 acc_delta4[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 2
#include "optim_guard.glsl"
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 6
#define VKT_WINDOWED 4
const int value_window = 0;
const int grad_window = 1;
const int square_avg_window = 2;
const int acc_delta_window = 3;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float rho, one_minus_rho;  // 1 − ρ rounded once on the host
  float eps;
  float weight_decay;
};

void main() {
  // Uniform values first, while every invocation is active (index.glsl).
  const bool skipped = step_skipped();
  const float lr = lrs[group];
  uint i = global_index();  // elements [4i, 4i + 4)
  if (4u * i >= n || skipped) return;
  vec4 theta = LOAD4(value, i, n);
  vec4 g = LOAD4(grad, i, n);
  if (MAXIMIZE != 0) g = -g;
  if (weight_decay != 0.0) g += weight_decay * theta;
  vec4 s = rho * LOAD4(square_avg, i, n) + one_minus_rho * g * g;
  STORE4(square_avg, i, n, s)
  vec4 u = LOAD4(acc_delta, i, n);
  vec4 delta = sqrt(u + eps) / sqrt(s + eps) * g;
  vec4 acc = rho * u + one_minus_rho * delta * delta;
  STORE4(acc_delta, i, n, acc)
  vec4 result = theta - lr * delta;
  STORE4(value, i, n, result)
}
