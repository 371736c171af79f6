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
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) buffer SquareAvg { float square_avg[]; };
layout(std430, binding = 4) buffer GradAvg { float grad_avg[]; };
layout(std430, binding = 5) buffer Momentum { float momentum_buffer[]; };
#define GUARD_BINDING 6
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float alpha, one_minus_alpha;  // 1 − α rounded once on the host
  float eps;
  float weight_decay;
  float momentum;
};

void main() {
  uint i = global_index();
  if (i >= n || step_skipped()) return;
  float lr = lrs[group];
  float theta = value[i];
  float g = MAXIMIZE != 0 ? -grad[i] : grad[i];
  if (weight_decay != 0.0) g += weight_decay * theta;
  float s = alpha * square_avg[i] + one_minus_alpha * g * g;
  square_avg[i] = s;
  float avg;
  if (CENTERED != 0) {
    float mean = alpha * grad_avg[i] + one_minus_alpha * g;
    grad_avg[i] = mean;
    avg = sqrt(s - mean * mean) + eps;
  } else {
    avg = sqrt(s) + eps;
  }
  if (MOMENTUM != 0) {
    float b = momentum * momentum_buffer[i] + g / avg;
    momentum_buffer[i] = b;
    value[i] = theta - lr * b;
  } else {
    value[i] = theta - lr * (g / avg);
  }
}
