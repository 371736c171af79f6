#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "norm_common.glsl"
// Batch norm, training with running statistics: merges the chunk statistics of norm_stats
// (C, chunks) into the batch mean and invstd (C,) and updates the running statistics in place,
// one workgroup per channel, everything read on the device (a captured step replays it):
//   running_mean = (1 − f)·running_mean + f·mean
//   running_var = (1 − f)·running_var + f·var·m/(m − 1)   (the unbiased variance)
// with f = momentum, or f = 1/(num_batches_tracked + 1) when CUMULATIVE (momentum None; the counter
// is incremented by the next dispatch, so this is 1/num_batches_tracked after the step).
layout(constant_id = 1) const bool CUMULATIVE = false;
// PER_LANE: one invocation per channel merges its few chunks in order (no tree, no barrier): for
// (N, C) batches a channel has one chunk, and a workgroup per channel cost lavapipe 4.5 ms for
// C = 1024 (a coroutine and a tree of barriers each).
layout(constant_id = 2) const bool PER_LANE = false;
layout(std430, binding = 0) readonly buffer PartialMean { float partial_mean[]; };  // (C, chunks)
layout(std430, binding = 1) readonly buffer PartialM2 { float partial_m2[]; };      // (C, chunks)
layout(std430, binding = 2) writeonly buffer SaveMean { float save_mean[]; };       // (C,)
layout(std430, binding = 3) writeonly buffer SaveInvstd { float save_invstd[]; };   // (C,)
layout(std430, binding = 4) buffer RunningMean { float running_mean[]; };           // (C,)
layout(std430, binding = 5) buffer RunningVar { float running_var[]; };             // (C,)
layout(std430, binding = 6) readonly buffer Batches { uint num_batches_tracked[]; };  // (1,)
layout(push_constant) uniform Push {
  uint channels, count, chunk_len, chunks;
  float eps, momentum;
};

void finish(uint c, Welford s) {
  save_mean[c] = s.mean;
  save_invstd[c] = inversesqrt(s.m2 / s.count + eps);
  float factor = CUMULATIVE ? 1.0 / float(num_batches_tracked[0] + 1u) : momentum;
  running_mean[c] = (1.0 - factor) * running_mean[c] + factor * s.mean;
  running_var[c] = (1.0 - factor) * running_var[c] + factor * (s.m2 / (s.count - 1.0));
}

Welford chunk(uint c, uint k) {
  float n = float(min(chunk_len, count - k * chunk_len));
  return Welford(n, partial_mean[c * chunks + k], partial_m2[c * chunks + k]);
}

void main() {
  Welford s = Welford(0.0, 0.0, 0.0);
  if (PER_LANE) {
    uint c = global_index();
    if (c >= channels) return;
    for (uint k = 0; k < chunks; ++k) s = welford_merge(s, chunk(c, k));
    finish(c, s);
    return;
  }
  uint c = norm_workgroup();
  if (c >= channels) return;
  for (uint k = gl_LocalInvocationIndex; k < chunks; k += gl_WorkGroupSize.x)
    s = welford_merge(s, chunk(c, k));
  s = workgroup_welford(s, 1);
  if (gl_LocalInvocationIndex == 0) finish(c, s);
}
