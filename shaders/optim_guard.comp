#version 450
// Begins a guarded optimizer step (Optimizer::step_if_finite): when the step's loss is finite the
// step count advances and guard[0] = 0; when it is NaN or ±Inf the step is skipped — guard[0] = 1,
// the step count stays, guard[1] counts the skipped steps and guard[2] keeps the number of the
// first one skipped (1-based, counting skipped steps). The update kernels read guard[0].
layout(local_size_x = 1) in;
layout(std430, binding = 0) readonly buffer Loss { float loss[]; };
layout(std430, binding = 1) buffer Step { uint step_count[]; };
layout(std430, binding = 2) buffer Guard { uint guard[]; };  // (3,)

void main() {
  float value = loss[0];
  if (isnan(value) || isinf(value)) {
    guard[0] = 1u;
    guard[1] += 1u;
    if (guard[2] == 0u) guard[2] = step_count[0] + guard[1];
  } else {
    guard[0] = 0u;
    step_count[0] += 1u;
  }
}
