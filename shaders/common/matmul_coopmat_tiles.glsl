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
// The operand's contiguous dimension (and each batch's matrix) a multiple of 4, and the tensor on
// 16 bytes: its fours are read as vec4s.
layout(constant_id = 11) const bool VEC4_A = false;
layout(constant_id = 12) const bool VEC4_B = false;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
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

#include "matmul_quad.glsl"

f16vec4 rounded(vec4 v) {  // exact: each component is a float16 value once rounded
  return f16vec4(round_to_half(v.x), round_to_half(v.y), round_to_half(v.z), round_to_half(v.w));
}

// Staging, in two halves so that a stage's global loads overlap the previous stage's products:
// fetch() reads stage [k0, k0 + BK) of op(A) rows m0.. and op(B) columns n0.., rounded, into
// registers, in fours along each stored operand's contiguous dimension (consecutive invocations,
// consecutive fours); commit() writes them to the shared tiles, transposing an operand stored
// k-major for its tile (op(A) transposed, op(B) not) on the way in.
const uint kQuadsA = BM * BK / 4, kQuadsB = BK * BN / 4;
const uint kLoadsA = (kQuadsA + kThreads - 1) / kThreads;  // fours per invocation
const uint kLoadsB = (kQuadsB + kThreads - 1) / kThreads;
f16vec4 next_a[kLoadsA], next_b[kLoadsB];

void fetch(uint k0, uint m0, uint n0, uint base_a, uint base_b) {
  const uint tid = gl_LocalInvocationIndex;
  [[unroll]] for (uint l = 0; l < kLoadsA; ++l) {
    const uint q = tid + l * kThreads;
    if (TRANSPOSE_A)  // A stored (K, M): fours along m
      next_a[l] = rounded(quad(true, base_a, k0 + q / (BM / 4), m0 + 4 * (q % (BM / 4)), K, M));
    else  // fours along k
      next_a[l] = rounded(quad(true, base_a, m0 + q / (BK / 4), k0 + 4 * (q % (BK / 4)), M, K));
  }
  [[unroll]] for (uint l = 0; l < kLoadsB; ++l) {
    const uint q = tid + l * kThreads;
    if (TRANSPOSE_B)  // B stored (N, K): fours along k
      next_b[l] = rounded(quad(false, base_b, n0 + q / (BK / 4), k0 + 4 * (q % (BK / 4)), N, K));
    else  // fours along n
      next_b[l] = rounded(quad(false, base_b, k0 + q / (BN / 4), n0 + 4 * (q % (BN / 4)), K, N));
  }
}

void commit() {
  const uint tid = gl_LocalInvocationIndex;
  [[unroll]] for (uint l = 0; l < kLoadsA; ++l) {
    const uint q = tid + l * kThreads;
    if (q >= kQuadsA) break;
    if (TRANSPOSE_A) {
      const uint k = q / (BM / 4), m = 4 * (q % (BM / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e) tile_a[(m + e) * kStrideA + k] = next_a[l][e];
    } else {
      const uint m = q / (BK / 4), k = 4 * (q % (BK / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e) tile_a[m * kStrideA + k + e] = next_a[l][e];
    }
  }
  [[unroll]] for (uint l = 0; l < kLoadsB; ++l) {
    const uint q = tid + l * kThreads;
    if (q >= kQuadsB) break;
    if (TRANSPOSE_B) {
      const uint n = q / (BK / 4), k = 4 * (q % (BK / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e) tile_b[(k + e) * kStrideB + n] = next_b[l][e];
    } else {
      const uint k = q / (BN / 4), n = 4 * (q % (BN / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e) tile_b[k * kStrideB + n + e] = next_b[l][e];
    }
  }
}
