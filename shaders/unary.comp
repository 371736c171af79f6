#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// out = f(x) elementwise; f (specialization constant 1): 0 alpha·x, 1 relu, 2 x + alpha,
// 3 sign (torch.sign: 0 at 0 and at NaN), 4 clamp to [alpha, beta] (torch.clamp: NaN stays NaN),
// 5 alpha where x is NaN or ±Inf, else x.
layout(constant_id = 1) const uint OP = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint n; float alpha; float beta; };

void main() {
  uint i = global_index();
  if (i >= n) return;
  float v = x[i];
  if (OP == 0) result[i] = alpha * v;
  else if (OP == 1) result[i] = max(v, 0.0);
  else if (OP == 2) result[i] = v + alpha;
  else if (OP == 3) result[i] = float(v > 0.0) - float(v < 0.0);
  else if (OP == 4) result[i] = isnan(v) ? v : min(max(v, alpha), beta);
  else result[i] = isnan(v) || isinf(v) ? alpha : v;
}
