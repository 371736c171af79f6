// shaders/matmul_coopmat.comp and its emulation, shaders/matmul_coopmat_emulated.comp (see there),
// part 1: specialization constants, bindings, the shared tiles and their staging. The includer
// then defines the fragment operations and includes matmul_coopmat_main.glsl.
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

