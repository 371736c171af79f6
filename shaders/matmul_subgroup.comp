#version 450
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_ballot : enable
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : enable
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation] [dropout], batched over workgroup z —
// the register-tiled variant without shared memory, for devices whose lanes are CPU vector lanes
// (lavapipe) and wherever the autotuner finds it faster (lib/ops/matmul.cpp chooses).
//
// A workgroup is one subgroup of SG lanes and owns a TM x (SG·TN) tile of C, accumulated in
// registers. Lane l owns columns n0 + l + SG·t (t < TN) and all TM rows. Per step of k each lane
// loads TN values of op(B) (its columns) and TM/SG values of op(A) (rows m0 + l + SG·q); every A
// value then reaches all lanes by subgroupBroadcast, so each k step is TM·TN fmas per lane for
// TN + TM/SG loads. No barrier, no shared memory: on a CPU driver every non-uniform memory access
// is a per-lane scalar loop while register arithmetic runs at the vector rate.
// Edges: row and column indices are clamped so that loads never branch; the clamped rows and
// columns are computed but not stored. The k loop runs exactly K steps.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 32;  // rows per workgroup, a multiple of SG
layout(constant_id = 2) const uint TN = 4;   // columns per lane; the tile is SG·TN wide
layout(constant_id = 3) const bool TRANSPOSE_A = false;  // A stored (K, M)
layout(constant_id = 4) const bool TRANSPOSE_B = false;  // B stored (N, K)
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(constant_id = 6) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 7) const bool ACCUMULATE = false;  // C += result
layout(constant_id = 8) const bool DROPOUT = false;     // dropout_epilogue.glsl, last

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
#define VKT_DROPOUT_BINDING 4
#include "dropout_epilogue.glsl"
layout(push_constant) uniform Push {
  uint M, N, K;
  uint batch_stride_a, batch_stride_b, batch_stride_c;  // elements; 0 broadcasts
  VKT_DROPOUT_PUSH
};

const uint SG = gl_WorkGroupSize.x;
const uint kRowLoads = TM / SG;

void main() {
  dropout_begin();
  const uint lane = gl_SubgroupInvocationID;
  const uint m0 = gl_WorkGroupID.y * TM, n0 = gl_WorkGroupID.x * (SG * TN);
  const uint base_a = gl_WorkGroupID.z * batch_stride_a;
  const uint base_b = gl_WorkGroupID.z * batch_stride_b;
  // Element (m, k) of op(A) is a[a_row[q] + k·a_step], element (k, n) of op(B) b[b_col[t] + k·b_step].
  const uint a_step = TRANSPOSE_A ? M : 1, b_step = TRANSPOSE_B ? 1 : N;
  uint a_row[kRowLoads], b_col[TN];
  [[unroll]] for (uint q = 0; q < kRowLoads; ++q) {
    uint m = min(m0 + lane + SG * q, M - 1);
    a_row[q] = base_a + (TRANSPOSE_A ? m : m * K);
  }
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint n = min(n0 + lane + SG * t, N - 1);
    b_col[t] = base_b + (TRANSPOSE_B ? n * K : n);
  }

  float acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; ++r)
    [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = 0.0;

  for (uint k = 0; k < K; ++k) {
    float va[kRowLoads], vb[TN];
    [[unroll]] for (uint q = 0; q < kRowLoads; ++q) va[q] = a[a_row[q] + k * a_step];
    [[unroll]] for (uint t = 0; t < TN; ++t) vb[t] = b[b_col[t] + k * b_step];
    [[unroll]] for (uint q = 0; q < kRowLoads; ++q) {
      [[unroll]] for (uint s = 0; s < SG; ++s) {
        float row_value = subgroupBroadcast(va[q], s);
        [[unroll]] for (uint t = 0; t < TN; ++t)
          acc[q * SG + s][t] = fma(row_value, vb[t], acc[q * SG + s][t]);
      }
    }
  }

  const uint base_c = gl_WorkGroupID.z * batch_stride_c;
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint m = m0 + r;
    if (m >= M) break;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint n = n0 + lane + SG * t;
      if (n >= N) continue;
      uint index = base_c + m * N + n;
      float v = acc[r][t];
      if (ACCUMULATE) v += c[index];
      if (HAS_BIAS) v += bias[n];
      if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
      if (DROPOUT) v *= dropout_factor(index);
      c[index] = v;
    }
  }
}
