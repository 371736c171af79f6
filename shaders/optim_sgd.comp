#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.SGD on one parameter, every element in one pass:
//   g = ±grad + weight_decay·θ
//   momentum: b = g on the first step (t = 1), else momentum·b + (1 − dampening)·g;
//             g = g + momentum·b (Nesterov) or b
//   θ = θ − lr·g
// The step count and the group's learning rate are read from device tensors (captured steps replay
// with the current values); the constant settings are push constants.
layout(constant_id = 1) const uint MOMENTUM = 0;  // keeps a momentum buffer
layout(constant_id = 2) const uint NESTEROV = 0;
layout(constant_id = 3) const uint MAXIMIZE = 0;
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) readonly buffer Step { uint step_count[]; };
layout(std430, binding = 4) buffer Momentum { float momentum_buffer[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float weight_decay;
  float momentum;
  float one_minus_dampening;  // 1 − dampening, rounded once on the host
};

void main() {
  uint i = global_index();
  if (i >= n || step_skipped()) return;
  float lr = lrs[group];
  float theta = value[i];
  float g = MAXIMIZE != 0 ? -grad[i] : grad[i];
  if (weight_decay != 0.0) g += weight_decay * theta;
  if (MOMENTUM != 0) {
    float b = step_count[0] == 1u ? g : momentum * momentum_buffer[i] + one_minus_dampening * g;
    momentum_buffer[i] = b;
    g = NESTEROV != 0 ? g + momentum * b : b;
  }
  value[i] = theta - lr * g;
}
