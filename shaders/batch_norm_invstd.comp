#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// invstd = 1/sqrt(var + eps) per channel: the running statistics batch norm uses in eval mode.
layout(std430, binding = 0) readonly buffer Var { float var[]; };
layout(std430, binding = 1) writeonly buffer Invstd { float invstd[]; };
layout(push_constant) uniform Push {
  uint n;
  float eps;
};

void main() {
  uint i = global_index();
  if (i < n) invstd[i] = inversesqrt(var[i] + eps);
}
