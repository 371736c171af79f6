#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : enable
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation] [dropout], batched over workgroup z —
// the GPU kernel: shared-memory tiles, register blocking, vec4 traffic, double buffering.
//
// A workgroup computes a BM x BN tile of C over BK-deep stages of op(A) and op(B) held in shared
// memory, two stages deep: while it multiplies stage s, each invocation has already loaded its
// share of stage s + 1 from global memory into registers, and writes it to the other buffer
// afterwards, so one barrier a stage both publishes s + 1 and retires s.
// Staging moves fours of floats along each operand's contiguous dimension (one vec4 load where
// VEC4_A / VEC4_B say that dimension is a multiple of 4 and the operand starts on 16 bytes, else
// four bounds-checked floats); a k-contiguous operand is transposed into the k-major tile as it
// is written.
// Invocation (tm, tn) accumulates a TM x TN block: rows 4·(tm + g·BM/TM) + 0..3 for g < TM/4, and
// likewise columns, so its shared reads are whole vec4s and neighbouring invocations read
// neighbouring vec4s of B (and one broadcast vec4 of A).
// Every output is one fma chain over k = 0, 1, ..., K − 1 in order, as in matmul_subgroup.comp
// and the packed kernel: the kernels' results are bit-identical. Tile sizes are specialization
// constants (lib/ops/matmul.cpp chooses); edges are handled for any M, N, K.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // (BM/TM) · (BN/TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;  // a multiple of 4
layout(constant_id = 4) const uint TM = 4;   // a multiple of 4
layout(constant_id = 5) const uint TN = 4;   // a multiple of 4
layout(constant_id = 6) const bool TRANSPOSE_A = false;  // A stored (K, M)
layout(constant_id = 7) const bool TRANSPOSE_B = false;  // B stored (N, K)
layout(constant_id = 8) const bool HAS_BIAS = false;
layout(constant_id = 9) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 10) const bool ACCUMULATE = false;  // C += result
layout(constant_id = 11) const bool VEC4_A = false;
layout(constant_id = 12) const bool VEC4_B = false;
layout(constant_id = 13) const bool DROPOUT = false;  // dropout_epilogue.glsl, last

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
#define VKT_DROPOUT_BINDING 4
#include "dropout_epilogue.glsl"
layout(push_constant) uniform Push {
  uint M, N, K;
  uint batch_stride_a, batch_stride_b, batch_stride_c;  // elements; 0 broadcasts
  VKT_DROPOUT_PUSH
};

const uint kThreads = gl_WorkGroupSize.x;
const uint kThreadsM = BM / TM, kThreadsN = BN / TN;
const uint kQuadsA = BM * BK / 4, kQuadsB = BK * BN / 4;  // fours per stage
const uint kLoadsA = (kQuadsA + kThreads - 1) / kThreads;  // fours per invocation
const uint kLoadsB = (kQuadsB + kThreads - 1) / kThreads;

shared vec4 tile_a[2][BK * BM / 4];  // [k][m / 4]
shared vec4 tile_b[2][BK * BN / 4];  // [k][n / 4]

vec4 stage_a[kLoadsA], stage_b[kLoadsB];  // the next stage, on its way to shared memory

#include "matmul_quad.glsl"

// Quad q of a stage: op(A) k-contiguous (not transposed) walks a row's BK/4 quads, else a k row's
// BM/4; op(B) likewise with N.
void fetch(uint k0, uint m0, uint n0, uint base_a, uint base_b) {
  const uint tid = gl_LocalInvocationIndex;
  [[unroll]] for (uint l = 0; l < kLoadsA; ++l) {
    uint q = tid + l * kThreads;
    if (TRANSPOSE_A)
      stage_a[l] = quad(true, base_a, k0 + q / (BM / 4), m0 + 4 * (q % (BM / 4)), K, M);
    else
      stage_a[l] = quad(true, base_a, m0 + q / (BK / 4), k0 + 4 * (q % (BK / 4)), M, K);
  }
  [[unroll]] for (uint l = 0; l < kLoadsB; ++l) {
    uint q = tid + l * kThreads;
    if (TRANSPOSE_B)
      stage_b[l] = quad(false, base_b, n0 + q / (BK / 4), k0 + 4 * (q % (BK / 4)), N, K);
    else
      stage_b[l] = quad(false, base_b, k0 + q / (BN / 4), n0 + 4 * (q % (BN / 4)), K, N);
  }
}

void commit(uint buf) {
  const uint tid = gl_LocalInvocationIndex;
  [[unroll]] for (uint l = 0; l < kLoadsA; ++l) {
    uint q = tid + l * kThreads;
    if (q >= kQuadsA) break;
    if (TRANSPOSE_A) {
      tile_a[buf][q] = stage_a[l];  // k row q / (BM/4), m quad q % (BM/4)
    } else {
      uint m = q / (BK / 4), k = 4 * (q % (BK / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e)
        tile_a[buf][(k + e) * (BM / 4) + m / 4][m % 4] = stage_a[l][e];
    }
  }
  [[unroll]] for (uint l = 0; l < kLoadsB; ++l) {
    uint q = tid + l * kThreads;
    if (q >= kQuadsB) break;
    if (!TRANSPOSE_B) {
      tile_b[buf][q] = stage_b[l];
    } else {
      uint n = q / (BK / 4), k = 4 * (q % (BK / 4));
      [[unroll]] for (uint e = 0; e < 4; ++e)
        tile_b[buf][(k + e) * (BN / 4) + n / 4][n % 4] = stage_b[l][e];
    }
  }
}

void main() {
  dropout_begin();
  const uint tid = gl_LocalInvocationIndex;
  const uint tm = tid / kThreadsN, tn = tid % kThreadsN;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint base_a = gl_WorkGroupID.z * batch_stride_a;
  const uint base_b = gl_WorkGroupID.z * batch_stride_b;
  const uint base_c = gl_WorkGroupID.z * batch_stride_c;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  const uint stages = (K + BK - 1) / BK;
  fetch(0, m0, n0, base_a, base_b);
  commit(0);
  barrier();
  for (uint s = 0; s < stages; ++s) {
    const uint buf = s & 1;
    const bool more = s + 1 < stages;
    if (more) fetch((s + 1) * BK, m0, n0, base_a, base_b);
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      vec4 ra[TM / 4], rb[TN / 4];
      [[unroll]] for (uint g = 0; g < TM / 4; ++g)
        ra[g] = tile_a[buf][k * (BM / 4) + tm + g * kThreadsM];
      [[unroll]] for (uint h = 0; h < TN / 4; ++h)
        rb[h] = tile_b[buf][k * (BN / 4) + tn + h * kThreadsN];
      [[unroll]] for (uint i = 0; i < TM; ++i)
        [[unroll]] for (uint j = 0; j < TN; ++j)
          acc[i][j] = fma(ra[i / 4][i % 4], rb[j / 4][j % 4], acc[i][j]);
    }
    if (more) commit(buf ^ 1);
    barrier();
  }

  [[unroll]] for (uint i = 0; i < TM; ++i) {
    uint m = m0 + 4 * (tm + (i / 4) * kThreadsM) + i % 4;
    if (m >= M) continue;
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      uint n = n0 + 4 * (tn + (j / 4) * kThreadsN) + j % 4;
      if (n >= N) continue;
      uint index = base_c + m * N + n;
      float v = acc[i][j];
      if (ACCUMULATE) v += c[index];
      if (HAS_BIAS) v += bias[n];
      if (ACTIVATION == 1) v = v < 0.0 ? 0.0 : v;  // relu as activation.comp: NaN passes
      if (DROPOUT) v *= dropout_factor(index);
      c[index] = v;
    }
  }
}
