#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// out = a OP b elementwise; OP (specialization constant 1): 0 add, 1 sub, 2 mul, 3 div,
// 4 a + alpha·b (axpy, with out = a).
layout(constant_id = 1) const uint OP = 0;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint n; float alpha; };

void main() {
  uint i = global_index();
  if (i >= n) return;
  float x = a[i], y = b[i];
  result[i] = OP == 0 ? x + y : OP == 1 ? x - y : OP == 2 ? x * y : OP == 3 ? x / y : x + alpha * y;
}
