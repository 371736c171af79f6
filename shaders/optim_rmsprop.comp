#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.RMSprop on one parameter, every element in one pass:
//   g = ±grad + wd·θ,  s = αs + (1 − α)g²
//   centered: ḡ = αḡ + (1 − α)g, d = √(s − ḡ²) + eps;  else d = √s + eps
//   momentum μ > 0: b = μb + g/d, θ = θ − lr·b;  else θ = θ − lr·g/d
layout(constant_id = 1) const uint CENTERED = 0;
layout(constant_id = 2) const uint MOMENTUM = 0;  // keeps a momentum buffer
layout(constant_id = 3) const uint MAXIMIZE = 0;
layout(constant_id = 5) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 0) buffer Value4 { vec4 value4[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) buffer SquareAvg { float square_avg[]; };
layout(std430, binding = 3) buffer SquareAvg4 { vec4 square_avg4[]; };
layout(std430, binding = 4) buffer GradAvg { float grad_avg[]; };
layout(std430, binding = 4) buffer GradAvg4 { vec4 grad_avg4[]; };
layout(std430, binding = 5) buffer Momentum { float momentum_buffer[]; };
layout(std430, binding = 5) buffer Momentum4 { vec4 momentum_buffer4[]; };
#define GUARD_BINDING 6
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 7
#define VKT_WINDOWED 4
const int value_window = 0;
const int grad_window = 1;
const int square_avg_window = 2;
const int momentum_buffer_window = 3;
const int grad_avg_window = -1;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float alpha, one_minus_alpha;  // 1 − α rounded once on the host
  float eps;
  float weight_decay;
  float momentum;
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
  vec4 s = alpha * LOAD4(square_avg, i, n) + one_minus_alpha * g * g;
  STORE4(square_avg, i, n, s)
  vec4 avg;
  if (CENTERED != 0) {
    vec4 mean = alpha * LOAD4(grad_avg, i, n) + one_minus_alpha * g;
    STORE4(grad_avg, i, n, mean)
    avg = sqrt(s - mean * mean) + eps;
  } else {
    avg = sqrt(s) + eps;
  }
  vec4 result;
  if (MOMENTUM != 0) {
    vec4 b = momentum * LOAD4(momentum_buffer, i, n) + g / avg;
    STORE4(momentum_buffer, i, n, b)
    result = theta - lr * b;
  } else {
    result = theta - lr * (g / avg);
  }
  STORE4(value, i, n, result)
}
