#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Adam's bias corrections for one step, once per parameter group (t = the step count, read on the
// device so a captured step replays with the count it advances), for optim_adam.comp:
//   corrections[2g] = lr_g / (1 − β₁ᵗ),  corrections[2g + 1] = √(1 − β₂ᵗ)
// 1 − βᵗ is computed as −expm1(t·ln β) with ln β rounded once on the host: 1 − β₂ᵗ in float32
// would lose digits to cancellation (1 − float(0.999) is 1.3e-5 off 0.001), and pow() has no
// useful precision guarantee in Vulkan. In optim_adam.comp itself this cost every invocation a
// series and an exp() (on CPU drivers both sides of the branch), ~20% of the kernel on lavapipe.
layout(std430, binding = 0) readonly buffer Lr { float lrs[]; };          // (groups,)
layout(std430, binding = 1) readonly buffer Step { uint step_count[]; };  // (1,)
layout(std430, binding = 2) writeonly buffer Corrections { float corrections[]; };  // (2·groups,)
layout(push_constant) uniform Push {
  uint groups;
  float log_beta1, log_beta2;
};

// 1 − exp(x) for x ≤ 0 without cancellation: a Taylor series near 0 (error below 1e-9 relative for
// |x| ≤ 0.5), exp() beyond, where the result is ≥ 0.39 and exp's error stays relative.
float one_minus_exp(float x) {
  if (x > -0.5) {
    float s = 1.0;
    for (int k = 11; k >= 2; --k) s = 1.0 + s * x / float(k);
    return -x * s;
  }
  return 1.0 - exp(x);
}

void main() {
  uint g = global_index();
  if (g >= groups) return;
  float t = float(step_count[0]);
  corrections[2u * g] = lrs[g] / one_minus_exp(t * log_beta1);
  corrections[2u * g + 1u] = sqrt(one_minus_exp(t * log_beta2));
}
