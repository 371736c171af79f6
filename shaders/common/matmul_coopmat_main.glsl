// shaders/matmul_coopmat.comp and its emulation, part 2 (after matmul_coopmat_tiles.glsl): the
// kernel, on fragment operations the includer defines:
//   FRAG_ACC, FRAG_IN           a 16x16 float32 accumulator and a 16x16 float16 operand
//   ZERO_ACC(f, i, j)           f = a zero accumulator, fragment (i, j) of the subgroup's
//   LOAD_A(f, e), LOAD_B(f, e)  f = the 16x16 block of tile_a / tile_b from element e (row-major,
//                               rows kStrideA / kStrideB halves apart)
//   MULADD(a, b, c)             a · b + c
//   STORE_SCRATCH(f, e)         scratch[e + 16·r + c] = f[r][c]
void main() {
  const uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  const uint sg_m = sg / SG_N, sg_n = sg % SG_N;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint base_a = gl_WorkGroupID.z * batch_stride_a;
  const uint base_b = gl_WorkGroupID.z * batch_stride_b;
  const uint base_c = gl_WorkGroupID.z * batch_stride_c;

  FRAG_ACC acc[FM][FN];
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j)
      ZERO_ACC(acc[i][j], i, j);

  fetch(0, m0, n0, base_a, base_b);
  commit();
  barrier();
  for (uint k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) fetch(k0 + BK, m0, n0, base_a, base_b);  // lands while the products run
    [[unroll]] for (uint kk = 0; kk < BK; kk += 16) {
      FRAG_IN fa[FM], fb[FN];
      [[unroll]] for (uint i = 0; i < FM; ++i)
        LOAD_A(fa[i], (16 * (sg_m * FM + i)) * kStrideA + kk);
      [[unroll]] for (uint j = 0; j < FN; ++j)
        LOAD_B(fb[j], kk * kStrideB + 16 * (sg_n * FN + j));
      [[unroll]] for (uint i = 0; i < FM; ++i)
        [[unroll]] for (uint j = 0; j < FN; ++j)
          acc[i][j] = MULADD(fa[i], fb[j], acc[i][j]);
    }
    barrier();  // every subgroup is done with this stage's tiles
    if (more) {
      commit();
      barrier();
    }
  }

  const uint own = sg * 256;
  [[unroll]] for (uint i = 0; i < FM; ++i) {
    [[unroll]] for (uint j = 0; j < FN; ++j) {
      STORE_SCRATCH(acc[i][j], own);
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

