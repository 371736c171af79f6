#version 450
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation], batched over workgroup z.
// Tiled: a workgroup computes a BM x BN tile of C, staging BK-deep slices of A and B in shared
// memory; each invocation accumulates a TM x TN block in registers, its rows and columns interleaved
// across the tile so shared reads and global writes are spread over consecutive addresses.
// Tile sizes are specialization constants chosen per device; edges are handled for any M, N, K.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // (BM/TM) * (BN/TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
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

shared float tile_a[BK * BM];  // [k][m]
shared float tile_b[BK * BN];  // [k][n]

void main() {
  const uint threads = gl_WorkGroupSize.x;
  const uint threads_n = BN / TN;
  const uint threads_m = BM / TM;
  uint tid = gl_LocalInvocationIndex;
  uint tm = tid / threads_n, tn = tid % threads_n;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint base_a = gl_WorkGroupID.z * batch_stride_a;
  uint base_b = gl_WorkGroupID.z * batch_stride_b;
  uint base_c = gl_WorkGroupID.z * batch_stride_c;

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < K; k0 += BK) {
    // Stage the slices, walking each operand along its contiguous dimension.
    for (uint e = tid; e < BM * BK; e += threads) {
      uint m = TRANSPOSE_A ? e % BM : e / BK;
      uint k = TRANSPOSE_A ? e / BM : e % BK;
      uint gm = m0 + m, gk = k0 + k;
      float v = 0.0;
      if (gm < M && gk < K) v = TRANSPOSE_A ? a[base_a + gk * M + gm] : a[base_a + gm * K + gk];
      tile_a[k * BM + m] = v;
    }
    for (uint e = tid; e < BK * BN; e += threads) {
      uint n = TRANSPOSE_B ? e / BK : e % BN;
      uint k = TRANSPOSE_B ? e % BK : e / BN;
      uint gn = n0 + n, gk = k0 + k;
      float v = 0.0;
      if (gn < N && gk < K) v = TRANSPOSE_B ? b[base_b + gn * K + gk] : b[base_b + gk * N + gn];
      tile_b[k * BN + n] = v;
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      float ra[TM], rb[TN];
      for (uint i = 0; i < TM; ++i) ra[i] = tile_a[k * BM + tm + i * threads_m];
      for (uint j = 0; j < TN; ++j) rb[j] = tile_b[k * BN + tn + j * threads_n];
      for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TN; ++j) acc[i][j] = fma(ra[i], rb[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0; i < TM; ++i) {
    uint m = m0 + tm + i * threads_m;
    if (m >= M) continue;
    for (uint j = 0; j < TN; ++j) {
      uint n = n0 + tn + j * threads_n;
      if (n >= N) continue;
      uint index = base_c + m * N + n;
      float v = acc[i][j];
      if (ACCUMULATE) v += c[index];
      if (HAS_BIAS) v += bias[n];
      if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
      c[index] = v;
    }
  }
}
