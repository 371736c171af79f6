#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "norm_common.glsl"
// Forward statistics of reduction rows, chunk by chunk (layout and work split in norm_common.glsl):
// chunk k of a row holds its elements [k * chunk_len, min(count, (k + 1) * chunk_len)).
// FINAL (one chunk per row): writes mean and invstd = 1/sqrt(var + eps), var biased.
// Otherwise: writes each chunk's mean and M2 to partials (rows, chunks) for norm_finalize.
layout(constant_id = 1) const bool FINAL = false;
// COLUMNS > 0: rows of one-element runs, COLUMNS of them per workgroup.
layout(constant_id = 2) const uint COLUMNS = 0;
// VEC4: runs of whole fours of floats on 16 bytes, chunk_len a multiple of 4; read four at a time.
layout(constant_id = 3) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { vec4 x[]; };
layout(std430, binding = 1) writeonly buffer OutMean { float out_mean[]; };    // (rows[, chunks])
layout(std430, binding = 2) writeonly buffer OutSecond { float out_second[]; };  // invstd or M2
layout(push_constant) uniform Push {
  uint rows, segments, seg_len, chunk_len, chunks;
  float eps;
};

void main() {
  uint w = norm_workgroup(), t = gl_LocalInvocationIndex;
  uint per_chunk = COLUMNS > 0 ? COLUMNS : 1;  // rows per workgroup
  uint tiles = (rows + per_chunk - 1) / per_chunk;
  if (w >= tiles * chunks) return;  // uniform over the workgroup
  uint tile = w / chunks, chunk = w - tile * chunks;
  uint row = COLUMNS > 0 ? tile * COLUMNS + t % COLUMNS : tile;
  uint lane = COLUMNS > 0 ? t / COLUMNS : t, lanes = gl_WorkGroupSize.x / per_chunk;
  uint count = segments * seg_len;
  uint begin = chunk * chunk_len, end = min(count, begin + chunk_len);
  Welford s = Welford(0.0, 0.0, 0.0);
  if (row < rows && COLUMNS > 0) {
    for (uint i = begin + lane; i < end; i += lanes) {
      uint at = i * rows + row;
      welford_add(s, x[at >> 2][at & 3]);
    }
  } else if (row < rows && VEC4) {
    uint seg4 = seg_len / 4;
    NormCursor at = norm_cursor(begin / 4 + lane, lanes, seg4);
    Welford4 s4 = Welford4(0.0, vec4(0.0), vec4(0.0));
    for (uint i = begin / 4 + lane; i < end / 4; i += lanes) {
      welford_add4(s4, x[norm_address(at, row, rows, seg4)]);
      norm_advance(at, seg4);
    }
    s = welford_fold4(s4);
  } else if (row < rows) {
    NormCursor at = norm_cursor(begin + lane, lanes, seg_len);
    for (uint i = begin + lane; i < end; i += lanes) {
      uint q = norm_address(at, row, rows, seg_len);
      welford_add(s, x[q >> 2][q & 3]);
      norm_advance(at, seg_len);
    }
  }
  s = workgroup_welford(s, per_chunk);
  if (lane != 0 || row >= rows) return;
  uint at = row * chunks + chunk;
  out_mean[at] = s.mean;
  out_second[at] = FINAL ? inversesqrt(s.m2 / s.count + eps) : s.m2;
}
