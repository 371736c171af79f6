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
layout(constant_id = 5) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 0) buffer Value4 { vec4 value4[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) readonly buffer Step { uint step_count[]; };
layout(std430, binding = 4) buffer Momentum { float momentum_buffer[]; };
layout(std430, binding = 4) buffer Momentum4 { vec4 momentum_buffer4[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 4
#include "optim_guard.glsl"
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 6
#define VKT_WINDOWED 3
const int value_window = 0;
const int grad_window = 1;
const int momentum_buffer_window = 2;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float weight_decay;
  float momentum;
  float one_minus_dampening;  // 1 − dampening, rounded once on the host
};

void main() {
  // Uniform values first, while every invocation is active (index.glsl).
  const bool skipped = step_skipped();
  const float lr = lrs[group];
  const bool first_step = step_count[0] == 1u;
  uint i = global_index();  // elements [4i, 4i + 4)
  if (4u * i >= n || skipped) return;
  vec4 theta = LOAD4(value, i, n);
  vec4 g = LOAD4(grad, i, n);
  if (MAXIMIZE != 0) g = -g;
  if (weight_decay != 0.0) g += weight_decay * theta;
  if (MOMENTUM != 0) {
    vec4 b = first_step ? g
                        : momentum * LOAD4(momentum_buffer, i, n) + one_minus_dampening * g;
    STORE4(momentum_buffer, i, n, b)
    g = NESTEROV != 0 ? g + momentum * b : b;
  }
  vec4 result = theta - lr * g;
  STORE4(value, i, n, result)
}
