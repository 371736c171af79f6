#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// The device's peak float32 FMA rate (vktrain-bench's arithmetic ceiling): each invocation runs
// CHAINS independent chains x <- fma(x, a, b), `iterations` steps each, entirely in registers.
// Independent chains hide the FMA latency; a and b come from push constants so nothing can be
// folded at compile time. The sum of the chains is written so no work is dead.
// Closed form (what tests/ops/test_bench_kernels.cpp checks): chain c starts at start + c, so
// with a = 1 the result is Σ_c (start + c + iterations·b), exact while it stays below 2^24.
layout(constant_id = 1) const uint CHAINS = 16;
layout(constant_id = 2) const uint UNROLL = 1;  // steps per loop trip (iterations must divide)

layout(std430, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push {
  uint count;  // invocations that write a result
  uint iterations;
  float a, b, start;
};

void main() {
  uint i = global_index();
  float x[CHAINS];
  for (uint c = 0; c < CHAINS; ++c) x[c] = start + float(c);
  for (uint step = 0; step < iterations; step += UNROLL) {
    for (uint u = 0; u < UNROLL; ++u)
      for (uint c = 0; c < CHAINS; ++c) x[c] = fma(x[c], a, b);
  }
  float sum = 0.0;
  for (uint c = 0; c < CHAINS; ++c) sum += x[c];
  if (i < count) result[i] = sum;
}
