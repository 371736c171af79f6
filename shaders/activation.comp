#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// Activations with PyTorch's definitions: forward y = f(x), backward dx = dy · f'(·).
// KIND (constant 1): 0 relu, 1 leaky_relu (param = negative_slope), 2 elu (param = alpha),
// 3 sigmoid, 4 tanh, 5 gelu (exact, x·Φ(x)), 6 gelu_tanh (the tanh approximation).
// BACKWARD (constant 2); FROM_OUTPUT (constant 3): the backward's saved tensor is y, not x.
// Both directions bind (saved, dy, out) so they share one layout; the forward binds x in the dy slot
// and never reads it. Elementwise, so out may alias the saved tensor or dy (in-place use).
layout(constant_id = 1) const uint KIND = 0;
layout(constant_id = 2) const bool BACKWARD = false;
layout(constant_id = 3) const bool FROM_OUTPUT = false;
layout(constant_id = 4) const bool VEC4 = false;  // see vec4_access.glsl
layout(std430, binding = 0) readonly buffer Saved { float saved[]; };  // x, or y (FROM_OUTPUT)
layout(std430, binding = 0) readonly buffer Saved4 { vec4 saved4[]; };
layout(std430, binding = 1) readonly buffer Grad { float dy[]; };
layout(std430, binding = 1) readonly buffer Grad4 { vec4 dy4[]; };
layout(std430, binding = 2) writeonly buffer Out { float result[]; };
layout(std430, binding = 2) writeonly buffer Out4 { vec4 result4[]; };
#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 3
#define VKT_WINDOWED 2
const int saved_window = 0;
const int dy_window = 1;
#endif
#include "vec4_access.glsl"
layout(push_constant) uniform Push {
  uint n;
  float param;
  float gain;  // the backward's dx = (dy · gain) · f'(·): 1, or relu_dropout_backward's scale
};

const float kSqrtHalf = 0.70710678118654752;
const float kInvSqrt2Pi = 0.39894228040143268;  // 1/sqrt(2π): the normal density's constant
const float kSqrt2OverPi = 0.79788456080286536;
const float kGeluCubic = 0.044715;

// exp(x) − 1 without the cancellation of exp(x) − 1 near 0: Taylor terms to x⁸/8! for |x| < 0.5
// (truncation below 1.5e-8 relative); beyond, |exp(x) − 1| > 0.39 and the subtraction is harmless.
float expm1_accurate(float x) {
  if (abs(x) < 0.5) {
    float p = 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    p = p * x + 1.0;
    return p * x;
  }
  return exp(x) - 1.0;
}

// tanh through expm1: accurate for small |x| and saturating cleanly (no inf/inf) for large |x|.
float tanh_accurate(float x) {
  float e = expm1_accurate(-2.0 * abs(x));  // in (−1, 0]
  float t = -e / (2.0 + e);
  return x < 0.0 ? -t : t;
}

// erf(z) for |z| < 1 as z + z·P(z²): P is a float64 least-squares fit (weighted by z, Chebyshev
// nodes) of erf(z)/z − 1, coefficients rounded to float32; approximation error 2.6e-9, so float32
// rounding (≤ 6.2e-8 absolute) dominates.
float erf_small(float z) {
  float z2 = z * z;
  float p = 7.680844282731414e-05;
  p = p * z2 - 7.953780586831272e-04;
  p = p * z2 + 5.1812538877129555e-03;
  p = p * z2 - 2.684955671429634e-02;
  p = p * z2 + 0.11283461004495621;
  p = p * z2 - 0.37612611055374146;
  p = p * z2 + 0.12837916612625122;
  return z + z * p;
}

// erfc(z) for z ≥ 1 as t·exp(−z² + Q(t)), t = 2/(2 + z) (the form of Numerical Recipes' erfcc,
// refitted here): Q is a float64 least-squares fit over z in [1, 10], coefficients rounded to float32,
// relative error 4e-8 before float32 evaluation (3e-7 after, measured with correctly rounded exp).
// −z² is split as −hi² − (z − hi)(z + hi), with hi = z cut to 12 significant bits so hi² is exact:
// the rounding of z² (4e-6 absolute at z = 9) would otherwise enter the exponent.
float erfc_large(float z) {
  float t = 2.0 / (2.0 + z);
  float q = 0.2552088499069214;
  q = q * t - 0.8599311113357544;
  q = q * t + 0.9471418857574463;
  q = q * t - 0.18316811323165894;
  q = q * t - 0.19666409492492676;
  q = q * t - 0.03365069627761841;
  q = q * t - 0.13015183806419373;
  q = q * t + 0.09350784868001938;
  q = q * t + 0.3735993206501007;
  q = q * t + 1.0001075267791748;
  q = q * t - 1.265515685081482;
  float hi = uintBitsToFloat(floatBitsToUint(z) & 0xFFFFF000u);
  float lo = z - hi;
  return t * exp(-hi * hi) * exp(q - lo * (z + hi));
}

// Φ(x), the standard normal CDF: the tails come from erfc, so the left tail keeps its relative
// accuracy (1 + erf(z) would cancel) — better than PyTorch's float32 0.5·(1 + erf(x/√2)).
float normal_cdf(float x) {
  float z = x * kSqrtHalf;
  if (abs(z) < 1.0) return 0.5 + 0.5 * erf_small(z);
  float tail = 0.5 * erfc_large(abs(z));
  return z < 0.0 ? tail : 1.0 - tail;
}

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

float forward(float x) {
  if (KIND == 0) return x < 0.0 ? 0.0 : x;  // NaN passes through, as in PyTorch
  if (KIND == 1) return x > 0.0 ? x : x * param;
  if (KIND == 2) return x > 0.0 ? x : param * expm1_accurate(x);
  if (KIND == 3) return sigmoid(x);
  if (KIND == 4) return tanh_accurate(x);
  if (KIND == 5) return x * normal_cdf(x);
  float u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  return 0.5 * x * (1.0 + tanh_accurate(u));
}

// f'(x) from the input.
float derivative_from_input(float x) {
  if (KIND == 0) return x > 0.0 ? 1.0 : 0.0;
  if (KIND == 1) return x > 0.0 ? 1.0 : param;
  if (KIND == 2) return x > 0.0 ? 1.0 : param * exp(x);
  if (KIND == 3) {
    float s = sigmoid(x);
    return s * (1.0 - s);
  }
  if (KIND == 4) {
    float t = tanh_accurate(x);
    return 1.0 - t * t;
  }
  if (KIND == 5) return normal_cdf(x) + x * kInvSqrt2Pi * exp(-0.5 * x * x);
  float u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  float t = tanh_accurate(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kGeluCubic * x * x);
}

// f'(x) from the output y = f(x) (what PyTorch saves for sigmoid and tanh, and for in-place relu,
// leaky_relu with slope ≥ 0 and elu with alpha ≥ 0; the host allows only those).
float derivative_from_output(float y) {
  if (KIND == 0) return y > 0.0 ? 1.0 : 0.0;
  if (KIND == 1) return y > 0.0 ? 1.0 : param;
  if (KIND == 2) return y > 0.0 ? 1.0 : y + param;
  if (KIND == 3) return y * (1.0 - y);
  return 1.0 - y * y;  // tanh
}

void main() {
  uint i = global_index();  // elements [4i, 4i + 4): vector loads and stores, scalar math
  if (4u * i >= n) return;
  vec4 v = LOAD4(saved, i, n), r;
  if (!BACKWARD) {
    for (uint k = 0u; k < 4u; ++k) r[k] = forward(v[k]);
  } else {
    vec4 g = LOAD4(dy, i, n);
    for (uint k = 0u; k < 4u; ++k)
      r[k] = (g[k] * gain) * (FROM_OUTPUT ? derivative_from_output(v[k]) : derivative_from_input(v[k]));
  }
  STORE4(result, i, n, r)
}
