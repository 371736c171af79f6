#version 450
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_EXT_control_flow_attributes : enable
// One chunk of k of C = op(A) · op(B) [+ bias] [activation] [dropout], with both operands read through
// uniform-buffer windows — the matmul for CPU drivers: llvmpipe loads from a uniform buffer at a
// non-uniform offset with a branch-free gather, where a storage-buffer load is a loop over the
// lanes (docs/performance-notes.md, 2026-12-03). lib/ops/matmul_packed.cpp sets it up.
//
// The operands, in one of two orientations (SWAP: C's columns are U's rows):
//   U (rows x K): the operand every lane reads alike, either row-major with row stride ldu, read
//     in place (op(A), or op(B)ᵀ, stored k-contiguous), or — U_PANELS, faster per step, worth its
//     packing when D has many columns — packed k-major per tile of TM rows (kc x TM floats);
//   D (K x cols): the operand each lane reads its own columns of, packed into panels of SG·TN
//     columns, each k-major (kc x SG·TN floats): a copy of rows where it is stored that way.
// A workgroup is one subgroup of SG lanes owning a TM x SG·TN tile (TM rows of U by a panel of D):
// lane l owns the tile's columns 4(l + SG·t) .. +3 for t < TN/4, and all TM rows. Per k step it
// loads TM floats of U (the same for every lane) and TN floats of D (its own). The dispatch covers
// a block of tiles of U rows (workgroup y) by panels of D (workgroup x): window y holds tile y's
// rows (from its first row and the chunk's first k), windows [u_windows, ...) D's panels, so every
// window index is the same for all lanes, as Vulkan requires of a uniform-buffer array index, and
// U's is the same for the whole k loop.
// Each output is the same sequential fma chain over k as in matmul_subgroup.comp: a chunk other
// than the first starts from the partial sums the previous chunk stored, so results are
// bit-identical to the other matmul kernels.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // U rows per workgroup
layout(constant_id = 2) const uint TN = 8;   // D columns per lane, 4 or 8 (SG·TN a power of two)
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 5) const bool ACCUMULATE = false;  // C += result
layout(constant_id = 6) const bool SWAP = false;        // U = op(B)ᵀ, D = op(A)ᵀ: bias follows U
layout(constant_id = 7) const bool U_PANELS = false;    // U packed k-major (see below)
layout(constant_id = 8) const bool DROPOUT = false;     // dropout_epilogue.glsl, last

#include "uniform_windows.glsl"
#define VKT_DROPOUT_BINDING 3
#include "dropout_epilogue.glsl"

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) buffer Partial { float partial[]; };  // like C: sums after a chunk
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std140, binding = 4) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push {
  uint rows, cols;       // U's rows and D's columns
  uint kc;               // k steps in this chunk
  uint ldu;              // rows layout: U's row stride in floats, a multiple of 4
  uint u0, d0;           // the block's first U row and D column
  uint u_windows;        // windows holding the block's U rows: one per tile
  uint c_offset;         // of this batch's C (and Partial) matrix
  uint c_row, c_col;     // C's index of (U row u, D column d): c_offset + u·c_row + d·c_col
  uint first_chunk, last_chunk;
  VKT_DROPOUT_PUSH
};

const uint SG = gl_WorkGroupSize.x;
const uint kD4 = TN / 4;  // vec4s of D per lane and k step

vec4 acc[TM][kD4];
uint u_at[TM];  // rows layout: vec4 offset of each of the tile's U rows in the tile's window
uint d_at;      // vec4 offset of the workgroup's D panel from D's first window

// Step k; e = k % 4, a constant in the unrolled main loop (the rows layout's component of U).
void step(uint k, uint e) {
  vec4 vd[kD4];
  [[unroll]] for (uint t = 0; t < kD4; ++t) {
    // The subgroup's SG·TN floats of a step are whole vec4s of one window.
    const uint at = d_at + k * (SG * kD4) + SG * t;
    vd[t] = windows[u_windows + at / kWindowVec4s].v[at % kWindowVec4s + gl_SubgroupInvocationID];
  }
  // The tile's window is workgroup y's; U_PANELS: four rows a vec4, else one float a row.
  [[unroll]] for (uint q = 0; q < (U_PANELS ? TM / 4 : 0); ++q) {
    const vec4 vu = windows[gl_WorkGroupID.y].v[k * (TM / 4) + q];
    [[unroll]] for (uint e = 0; e < 4; ++e)
      [[unroll]] for (uint t = 0; t < kD4; ++t)
        acc[4 * q + e][t] = fma(vec4(vu[e]), vd[t], acc[4 * q + e][t]);
  }
  [[unroll]] for (uint r = 0; r < (U_PANELS ? 0 : TM); ++r) {
    const float vu = windows[gl_WorkGroupID.y].v[u_at[r] + k / 4][e];
    [[unroll]] for (uint t = 0; t < kD4; ++t) acc[r][t] = fma(vec4(vu), vd[t], acc[r][t]);
  }
}

void main() {
  dropout_begin();
  const uint lane = gl_SubgroupInvocationID;
  const uint row0 = gl_WorkGroupID.y * TM;                    // within the block
  const uint col0 = d0 + gl_WorkGroupID.x * (SG * TN);        // global
  [[unroll]] for (uint r = 0; r < TM; ++r)  // rows past U's last compute its copies, unstored
    u_at[r] = (min(u0 + row0 + r, rows - 1) - (u0 + row0)) * (ldu / 4);
  d_at = gl_WorkGroupID.x * kc * (SG * kD4);

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    [[unroll]] for (uint t = 0; t < kD4; ++t) {
      acc[r][t] = vec4(0.0);
      if (first_chunk == 0) {
        [[unroll]] for (uint e = 0; e < 4; ++e) {
          uint u = u0 + row0 + r, d = col0 + 4 * (lane + SG * t) + e;
          if (u < rows && d < cols) acc[r][t][e] = partial[c_offset + u * c_row + d * c_col];
        }
      }
    }
  }

  // The rows layout steps four at a time, so that U's component is a constant; the panels layout
  // needs none and steps one at a time.
  const uint kUnroll = U_PANELS ? 1 : 4;
  uint k = 0;
  for (; k + kUnroll <= kc; k += kUnroll) {
    [[unroll]] for (uint e = 0; e < kUnroll; ++e) step(k + e, e);
  }
  for (; k < kc; ++k) step(k, k % 4);

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint u = u0 + row0 + r;
    if (u >= rows) break;
    [[unroll]] for (uint t = 0; t < kD4; ++t) {
      [[unroll]] for (uint e = 0; e < 4; ++e) {
        uint d = col0 + 4 * (lane + SG * t) + e;
        if (d >= cols) continue;
        uint index = c_offset + u * c_row + d * c_col;
        float v = acc[r][t][e];
        if (last_chunk == 0) {
          partial[index] = v;
          continue;
        }
        if (ACCUMULATE) v += c[index];
        if (HAS_BIAS) v += bias[SWAP ? u : d];
        if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
        if (DROPOUT) v *= dropout_factor(index);
        c[index] = v;
      }
    }
  }
}
