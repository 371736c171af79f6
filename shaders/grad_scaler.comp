#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Dynamic loss scaling (optim::GradScaler; torch.cuda.amp.GradScaler's algorithm), on the device so
// that a training step with it can be captured:
//   MODE 0, unscale (one gradient): g ← g · (1 / scale); any NaN or ±inf among the results sets
//     found (an atomicOr: the flag does not depend on the order the invocations run in).
//   MODE 1, check (one invocation): guard ← NaN if found else 0 — the "loss" Optimizer::
//     step_if_finite reads, so the step is skipped after non-finite gradients.
//   MODE 2, update (one invocation), torch's _amp_update_scale_: after non-finite gradients
//     scale ← scale · backoff and the run of good steps restarts; else after growth_interval good
//     steps in a row scale ← scale · growth (kept only if finite). found is cleared for the next
//     step.
layout(constant_id = 1) const uint MODE = 0;
layout(std430, binding = 0) buffer Grad { float grad[]; };  // MODE 0; else a placeholder
layout(std430, binding = 1) buffer Scale { float scale; };
layout(std430, binding = 2) buffer Counters { uint found; uint tracker; };
layout(std430, binding = 3) buffer Guard { float guard; };
layout(push_constant) uniform Push {
  uint n;
  float growth, backoff;
  uint growth_interval;
};

void main() {
  if (MODE == 0) {
    const float inverse = 1.0 / scale;  // before the return (index.glsl: uniform loads go first)
    uint i = global_index();
    if (i >= n) return;
    float v = grad[i] * inverse;
    grad[i] = v;
    if (isnan(v) || isinf(v)) atomicOr(found, 1u);
    return;
  }
  if (gl_GlobalInvocationID.x != 0u) return;  // modes 1 and 2: one invocation of the group
  if (MODE == 1) {
    guard = found != 0u ? uintBitsToFloat(0x7fc00000u) : 0.0;
    return;
  }
  if (found != 0u) {
    scale *= backoff;
    tracker = 0u;
  } else if (tracker + 1u == growth_interval) {
    float grown = scale * growth;
    if (!isinf(grown) && !isnan(grown)) scale = grown;
    tracker = 0u;
  } else {
    tracker += 1u;
  }
  found = 0u;
}
