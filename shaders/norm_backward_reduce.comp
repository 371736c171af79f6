#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "norm_affine.glsl"
#include "norm_common.glsl"
// Backward sums over reduction rows, chunk by chunk as in norm_stats (norm_common.glsl):
//   sum_dy[row, chunk] = Σ dy·g,   sum_dy_xhat[row, chunk] = Σ dy·g·x̂
// with x̂ = (x − mean[r])·invstd[r] and g = gamma[c] when WEIGHTED, else 1. The statistics row of
// run j of reduction row `row` is r = j·stat_per_run + row / rows_per_stat (the reduction row itself
// when STAT_IS_ROW); the channel of element `at` is its offset in the run when CHANNEL_IS_OFFSET,
// else (at / channel_div) % channel_mod. Outputs are (rows, chunks); with one chunk they are the
// final sums, otherwise norm_sum_chunks finishes them. MASKED (batch norm: STAT_IS_ROW, a row is a
// channel, not WEIGHTED): a ReLU was fused after the forward (norm_apply's RELU); dy counts only
// where the forward's y = norm_affine(x, mean, invstd, gamma[row], beta[row]) is > 0, as
// activation.comp's relu backward computes it (dy·1 or dy·0), recomputed here bit for bit.
layout(constant_id = 1) const bool WEIGHTED = false;
layout(constant_id = 2) const bool STAT_IS_ROW = false;
// COLUMNS > 0: rows of one-element runs, COLUMNS of them per workgroup.
layout(constant_id = 3) const uint COLUMNS = 0;
layout(constant_id = 4) const bool CHANNEL_IS_OFFSET = false;
// VEC4 (not WEIGHTED): runs of whole fours of floats on 16 bytes, chunk_len a multiple of 4; read
// four at a time.
layout(constant_id = 5) const bool VEC4 = false;
layout(constant_id = 6) const bool MASKED = false;
// With MASKED: the forward had gamma, beta (otherwise 1 and 0).
layout(constant_id = 7) const bool MASK_GAMMA = false;
layout(constant_id = 8) const bool MASK_BETA = false;
layout(std430, binding = 0) readonly buffer DY { vec4 dy[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Invstd { float invstd[]; };
layout(std430, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 5) writeonly buffer SumDy { float sum_dy[]; };
layout(std430, binding = 6) writeonly buffer SumDyXhat { float sum_dy_xhat[]; };
layout(std430, binding = 7) readonly buffer Beta { float beta[]; };
layout(push_constant) uniform Push {
  uint rows, segments, seg_len, chunk_len, chunks;
  uint stat_per_run, rows_per_stat, channel_div, channel_mod;
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
  vec2 sums = vec2(0.0);
  if (row < rows) {
    float row_mean = 0.0, row_invstd = 0.0;
    if (STAT_IS_ROW) {
      row_mean = mean[row];
      row_invstd = invstd[row];
    }
    float mask_gamma = MASKED && MASK_GAMMA ? gamma[row] : 1.0;
    float mask_beta = MASKED && MASK_BETA ? beta[row] : 0.0;
    uint row_stat = STAT_IS_ROW ? 0 : row / rows_per_stat;
    uint unit = VEC4 ? 4 : 1, seg = COLUMNS > 0 ? 1 : seg_len / unit;
    NormCursor cursor = norm_cursor(begin / unit + lane, lanes, seg);
    for (uint i = begin / unit + lane; i < end / unit; i += lanes) {
      uint at = COLUMNS > 0 ? i * rows + row : norm_address(cursor, row, rows, seg);
      float m = row_mean, s = row_invstd;
      if (!STAT_IS_ROW) {
        uint r = (COLUMNS > 0 ? i : cursor.run) * stat_per_run + row_stat;
        m = mean[r];
        s = invstd[r];
      }
      if (VEC4) {
        vec4 g = dy[at], xv = x[at], xhat = (xv - m) * s;
        if (MASKED)
          g *= vec4(greaterThan(norm_affine(xv, m, s, mask_gamma, mask_beta), vec4(0.0)));
        sums += vec2(g.x, g.x * xhat.x);
        sums += vec2(g.y, g.y * xhat.y);
        sums += vec2(g.z, g.z * xhat.z);
        sums += vec2(g.w, g.w * xhat.w);
      } else {
        float g = dy[at >> 2][at & 3], xv = x[at >> 2][at & 3];
        if (MASKED) g *= norm_affine(xv, m, s, mask_gamma, mask_beta) > 0.0 ? 1.0 : 0.0;
        if (WEIGHTED)
          g *= gamma[CHANNEL_IS_OFFSET ? (COLUMNS > 0 ? 0 : cursor.offset)
                                       : (at / channel_div) % channel_mod];
        sums += vec2(g, g * (xv - m) * s);
      }
      if (COLUMNS == 0) norm_advance(cursor, seg);
    }
  }
  sums = workgroup_sum2(sums, per_chunk);
  if (lane != 0 || row >= rows) return;
  sum_dy[row * chunks + chunk] = sums.x;
  sum_dy_xhat[row * chunks + chunk] = sums.y;
}
