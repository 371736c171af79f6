#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// torch.optim.Adagrad on one parameter, every element in one pass (t = the step count):
//   g = ±grad + wd·θ,  clr = lr / (1 + (t − 1)·lr_decay),  s = s + g²,  θ = θ − clr·g/(√s + eps)
layout(constant_id = 1) const uint MAXIMIZE = 0;
layout(std430, binding = 0) buffer Value { float value[]; };
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) readonly buffer Lr { float lrs[]; };
layout(std430, binding = 3) readonly buffer Step { uint step_count[]; };
layout(std430, binding = 4) buffer Sum { float state_sum[]; };
#define GUARD_BINDING 5
#define GUARD_CONSTANT 2
#include "optim_guard.glsl"
layout(push_constant) uniform Push {
  uint n;
  uint group;
  float lr_decay;
  float weight_decay;
  float eps;
};

void main() {
  uint i = global_index();
  if (i >= n || step_skipped()) return;
  float clr = lrs[group] / (1.0 + float(step_count[0] - 1u) * lr_decay);
  float theta = value[i];
  float g = MAXIMIZE != 0 ? -grad[i] : grad[i];
  if (weight_decay != 0.0) g += weight_decay * theta;
  float s = state_sum[i] + g * g;
  state_sum[i] = s;
  value[i] = theta - clr * (g / (sqrt(s) + eps));
}
