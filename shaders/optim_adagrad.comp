#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adagrad on one parameter, every element in one pass (t = the step count):
//   g = ±grad + wd·θ,  clr = lr / (1 + (t − 1)·lr_decay),  s = s + g²,  θ = θ − clr·g/(√s + eps)
layout(constant_id = 1) const uint MAXIMIZE = 0;
layout(constant_id = 3) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 0) buffer Value4 { vec4 value4[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) readonly buffer Step { uint step_count[]; };
layout(std430, binding = 4) buffer Sum { float state_sum[]; };
layout(std430, binding = 4) buffer Sum4 { vec4 state_sum4[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 2
#include "optim_guard.glsl"
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 6
#define VKT_WINDOWED 3
const int value_window = 0;
const int grad_window = 1;
const int state_sum_window = 2;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float lr_decay;
  float weight_decay;
  float eps;
};

void main() {
  // Uniform values first, while every invocation is active (index.glsl).
  const bool skipped = step_skipped();
  const float clr = lrs[group] / (1.0 + float(step_count[0] - 1u) * lr_decay);
  uint i = global_index();  // elements [4i, 4i + 4)
  if (4u * i >= n || skipped) return;
  vec4 theta = LOAD4(value, i, n);
  vec4 g = LOAD4(grad, i, n);
  if (MAXIMIZE != 0) g = -g;
  if (weight_decay != 0.0) g += weight_decay * theta;
  vec4 s = LOAD4(state_sum, i, n) + g * g;
  STORE4(state_sum, i, n, s)
  vec4 result = theta - clr * (g / (sqrt(s) + eps));
  STORE4(value, i, n, result)
}
