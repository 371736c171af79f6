#version 450
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_EXT_control_flow_attributes : enable
// C (M, N) = op(A) · op(B) [+ bias] [activation] over one chunk of k, operands packed into panels
// by matmul_pack.comp and read through uniform-buffer windows — the matmul for CPU drivers:
// llvmpipe loads from a uniform buffer at a non-uniform offset with a branch-free gather, where a
// storage-buffer load is a loop over the lanes (docs/performance-notes.md, 2026-12-03).
//
// A workgroup is one subgroup of SG lanes owning a TM x (SG·TN) tile of C in registers: lane l
// owns the four columns 4(l + SG·t) .. +3 of the tile for t < TN/4, and all TM rows. Per k step it
// loads TM/4 vec4s of A's panel (the same for every lane) and TN/4 vec4s of B's (its own). The
// dispatch covers a block of A panels (workgroup y) by B panels (workgroup x); A's panels of the
// block sit in windows [0, a_windows), B's in [a_windows, ...), each panel k-major (kc x TM or
// kc x SG·TN floats), so a window index is the same for all lanes, as Vulkan requires.
// Each output is the same sequential fma chain over k as in matmul_subgroup.comp: a chunk other
// than the first starts from the partial sums the previous chunk stored, so results are
// bit-identical to the other matmul kernels.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // rows per workgroup, a power of two >= 4
layout(constant_id = 2) const uint TN = 8;   // columns per lane, 4 or 8 (SG·TN a power of two)
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 5) const bool ACCUMULATE = false;  // C += result

const uint kWindows = 14;        // lib/ops/matmul_packed.cpp: kPackedWindows
const uint kWindowVec4s = 4096;  // 64 KiB

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) buffer Partial { float partial[]; };  // (M, N): sums after a chunk
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std140, binding = 3) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push {
  uint M, N;
  uint kc;          // k steps in this chunk
  uint m0, n0;      // the block's first row and column
  uint a_windows;   // windows holding the block's A panels
  uint c_offset;    // of this batch's C (and Partial) matrix
  uint first_chunk, last_chunk;
};

const uint SG = gl_WorkGroupSize.x;
const uint kA4 = TM / 4, kB4 = TN / 4;  // vec4s per k step: A's panel row, each lane's columns

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint row0 = m0 + gl_WorkGroupID.y * TM, col0 = n0 + gl_WorkGroupID.x * (SG * TN);

  vec4 acc[TM][kB4];
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    [[unroll]] for (uint t = 0; t < kB4; ++t) {
      acc[r][t] = vec4(0.0);
      if (first_chunk == 0) {
        [[unroll]] for (uint e = 0; e < 4; ++e) {
          uint m = row0 + r, n = col0 + 4 * (lane + SG * t) + e;
          if (m < M && n < N) acc[r][t][e] = partial[c_offset + m * N + n];
        }
      }
    }
  }

  // vec4 offsets of this workgroup's panels from the first window of A and of B.
  uint a_at = gl_WorkGroupID.y * kc * kA4, b_at = gl_WorkGroupID.x * kc * (SG * kB4);
  for (uint k = 0; k < kc; ++k, a_at += kA4, b_at += SG * kB4) {
    const uint aw = a_at / kWindowVec4s, ai = a_at % kWindowVec4s;
    const uint bw = a_windows + b_at / kWindowVec4s, bi = b_at % kWindowVec4s;
    vec4 va[kA4], vb[kB4];
    [[unroll]] for (uint q = 0; q < kA4; ++q) va[q] = windows[aw].v[ai + q];
    [[unroll]] for (uint t = 0; t < kB4; ++t) vb[t] = windows[bw].v[bi + lane + SG * t];
    [[unroll]] for (uint r = 0; r < TM; ++r)
      [[unroll]] for (uint t = 0; t < kB4; ++t)
        acc[r][t] = fma(vec4(va[r / 4][r % 4]), vb[t], acc[r][t]);
  }

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint m = row0 + r;
    if (m >= M) break;
    [[unroll]] for (uint t = 0; t < kB4; ++t) {
      [[unroll]] for (uint e = 0; e < 4; ++e) {
        uint n = col0 + 4 * (lane + SG * t) + e;
        if (n >= N) continue;
        uint index = c_offset + m * N + n;
        float v = acc[r][t][e];
        if (last_chunk == 0) {
          partial[index] = v;
          continue;
        }
        if (ACCUMULATE) v += c[index];
        if (HAS_BIAS) v += bias[n];
        if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
        c[index] = v;
      }
    }
  }
}
