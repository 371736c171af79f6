#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "half.glsl"
// out = f(x) elementwise; f (specialization constant 1): 0 alpha·x, 1 relu, 2 x + alpha,
// 3 sign (torch.sign: 0 at 0 and at NaN), 4 clamp to [alpha, beta] (torch.clamp: NaN stays NaN),
// 5 alpha where x is NaN or ±Inf, else x, 6 the nearest float16 value (half.glsl).
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Out { float result[]; };
layout(std430, binding = 1) writeonly buffer Out4 { vec4 result4[]; };
layout(push_constant) uniform Push { uint n; float alpha; float beta; };
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 2
#define VKT_WINDOWED 1
const int x_window = 0;
#endif
#include "vec4_access.glsl"

float apply(float v) {
  if (OP == 0) return alpha * v;
  if (OP == 1) return max(v, 0.0);
  if (OP == 2) return v + alpha;
  if (OP == 3) return float(v > 0.0) - float(v < 0.0);
  if (OP == 4) return isnan(v) ? v : min(max(v, alpha), beta);
  if (OP == 5) return isnan(v) || isinf(v) ? alpha : v;
  return round_to_half(v);
}

void main() {
  uint i = global_index();  // elements [4i, 4i + 4)
  if (4u * i >= n) return;
  vec4 v = LOAD4(x, i, n), r;
  for (uint k = 0u; k < 4u; ++k) r[k] = apply(v[k]);
  STORE4(result, i, n, r)
}
