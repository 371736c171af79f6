#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// out = f(x) elementwise; f (specialization constant 1): 0 alpha*x, 1 relu, 2 x + alpha.
layout(constant_id = 1) const uint OP = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint n; float alpha; };

void main() {
  uint i = global_index();
  if (i >= n) return;
  float v = x[i];
  result[i] = OP == 0 ? alpha * v : OP == 1 ? max(v, 0.0) : v + alpha;
}
