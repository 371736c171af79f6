#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "half.glsl"
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation], batched over workgroup z,
// with op(A) and op(B) rounded to float16 and float32 sums, on cooperative matrices
// (VK_NV_cooperative_matrix: 16x16x16 subgroup fragments, float16 x float16 + float32: tensor
// cores). MatmulPrecision::float16_inputs where cooperative_matmul_available (lib/ops/
// matmul_coopmat.cpp).
//
// A workgroup of SG_M x SG_N subgroups computes a BM x BN tile of C, each subgroup FM x FN
// fragments of 16x16 (BM = 16·FM·SG_M, BN = 16·FN·SG_N). Each BK-deep stage of op(A) and op(B)
// is read from float32 memory (consecutive invocations along the stored operand's contiguous
// dimension; zero past the edges, so any M, N, K), rounded to float16 (half.glsl: the same bits
// as round_to_float16) and stored row-major in shared memory, rows padded by 8 halves so
// fragment loads stay on 16 bytes and rows fall on different banks. Products of float16 values
// are exact in float32; the sums' order is the hardware's, so results differ from the float32
// kernels' on rounded inputs by float32 rounding only (tests/ops/test_matmul_precision.cpp).
// Epilogue: each accumulator fragment goes through the subgroup's 16x16 float scratch in shared
// memory, from which every lane finishes 256 / LANES elements: accumulate, bias, activation and
// the bounds of C.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // LANES · SG_M · SG_N
layout(constant_id = 1) const uint LANES = 32;  // the subgroup size
layout(constant_id = 2) const uint SG_M = 2;
layout(constant_id = 3) const uint SG_N = 2;
layout(constant_id = 4) const uint FM = 2;
layout(constant_id = 5) const uint FN = 2;
layout(constant_id = 6) const bool TRANSPOSE_A = false;  // A stored (K, M)
layout(constant_id = 7) const bool TRANSPOSE_B = false;  // B stored (N, K)
layout(constant_id = 8) const bool HAS_BIAS = false;
layout(constant_id = 9) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 10) const bool ACCUMULATE = false;  // C += result

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint batch_stride_a, batch_stride_b, batch_stride_c;  // elements; 0 broadcasts
};

const uint BK = 32;  // two fragments deep
const uint BM = 16 * FM * SG_M, BN = 16 * FN * SG_N;
const uint kThreads = gl_WorkGroupSize.x;
const uint kStrideA = BK + 8, kStrideB = BN + 8;  // halves

shared float16_t tile_a[BM * kStrideA];  // [m][k]
shared float16_t tile_b[BK * kStrideB];  // [k][n]
shared float scratch[SG_M * SG_N * 256];  // a 16x16 fragment per subgroup

// Stage [k0, k0 + BK) of op(A) rows m0.. and op(B) columns n0.., rounded, into shared memory.
void stage(uint k0, uint m0, uint n0, uint base_a, uint base_b) {
  const uint tid = gl_LocalInvocationIndex;
  for (uint e = tid; e < BM * BK; e += kThreads) {
    uint m = TRANSPOSE_A ? e % BM : e / BK, k = TRANSPOSE_A ? e / BM : e % BK;
    uint gm = m0 + m, gk = k0 + k;
    float v = 0.0;
    if (gm < M && gk < K) v = a[base_a + (TRANSPOSE_A ? gk * M + gm : gm * K + gk)];
    tile_a[m * kStrideA + k] = float16_t(round_to_half(v));  // exact: v is a float16 value now
  }
  for (uint e = tid; e < BK * BN; e += kThreads) {
    uint n = TRANSPOSE_B ? e / BK : e % BN, k = TRANSPOSE_B ? e % BK : e / BN;
    uint gn = n0 + n, gk = k0 + k;
    float v = 0.0;
    if (gn < N && gk < K) v = b[base_b + (TRANSPOSE_B ? gn * K + gk : gk * N + gn)];
    tile_b[k * kStrideB + n] = float16_t(round_to_half(v));
  }
}

void main() {
  const uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  const uint sg_m = sg / SG_N, sg_n = sg % SG_N;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint base_a = gl_WorkGroupID.z * batch_stride_a;
  const uint base_b = gl_WorkGroupID.z * batch_stride_b;
  const uint base_c = gl_WorkGroupID.z * batch_stride_c;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM][FN];
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint k0 = 0; k0 < K; k0 += BK) {
    stage(k0, m0, n0, base_a, base_b);
    barrier();
    [[unroll]] for (uint kk = 0; kk < BK; kk += 16) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[FM], fb[FN];
      [[unroll]] for (uint i = 0; i < FM; ++i)
        coopMatLoadNV(fa[i], tile_a, (16 * (sg_m * FM + i)) * kStrideA + kk, kStrideA, false);
      [[unroll]] for (uint j = 0; j < FN; ++j)
        coopMatLoadNV(fb[j], tile_b, kk * kStrideB + 16 * (sg_n * FN + j), kStrideB, false);
      [[unroll]] for (uint i = 0; i < FM; ++i)
        [[unroll]] for (uint j = 0; j < FN; ++j)
          acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
    }
    barrier();  // the next stage overwrites the tiles
  }

  const uint own = sg * 256;
  [[unroll]] for (uint i = 0; i < FM; ++i) {
    [[unroll]] for (uint j = 0; j < FN; ++j) {
      coopMatStoreNV(acc[i][j], scratch, own, 16, false);
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      const uint fm = m0 + 16 * (sg_m * FM + i), fn = n0 + 16 * (sg_n * FN + j);
      for (uint e = lane; e < 256; e += LANES) {
        uint m = fm + e / 16, n = fn + e % 16;
        if (m >= M || n >= N) continue;
        uint index = base_c + m * N + n;
        float v = scratch[own + e];
        if (ACCUMULATE) v += c[index];
        if (HAS_BIAS) v += bias[n];
        if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
        c[index] = v;
      }
      subgroupMemoryBarrierShared();
      subgroupBarrier();  // the next fragment overwrites the scratch
    }
  }
}
