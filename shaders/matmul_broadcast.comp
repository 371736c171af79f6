#version 450
#extension GL_KHR_shader_subgroup_ballot : enable
#extension GL_EXT_control_flow_attributes : enable
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation], batched over workgroup z —
// the variant for SIMD-on-CPU drivers (lavapipe), chosen by lib/ops/matmul.cpp.
//
// On such a driver an invocation is one lane of a CPU vector register and every buffer or shared
// memory access is a per-lane scalar loop (tens of cycles per vector), while arithmetic on
// registers runs at the vector rate. So this kernel uses no shared memory and no barriers: a
// workgroup is one subgroup of SG lanes that owns a TM x (SG·TN) tile of C and accumulates it in
// registers (spilled to the stack by the compiler when large, which is still plain vector loads).
// Per step of k it gathers TN values of op(B) per lane (lane l owns columns n0 + l + SG·t) and
// TM/SG values of op(A) (lane l fetches rows m0 + l + SG·r), then hands every row's A value to
// all lanes with subgroupBroadcast: TM·TN fmas per TN + TM/SG loads.
// Edges: row and column indices are clamped so loads never branch; clamped rows and columns are
// computed but not stored. The k loop runs exactly K steps.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG, the subgroup size
layout(constant_id = 1) const uint TM = 32;  // rows per workgroup, a multiple of SG
layout(constant_id = 2) const uint TN = 4;   // columns per lane; the tile is SG·TN wide
layout(constant_id = 3) const bool TRANSPOSE_A = false;  // A stored (K, M)
layout(constant_id = 4) const bool TRANSPOSE_B = false;  // B stored (N, K)
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(constant_id = 6) const uint ACTIVATION = 0;      // 0 none, 1 relu
layout(constant_id = 7) const bool ACCUMULATE = false;  // C += result
layout(constant_id = 8) const uint KU = 1;
layout(constant_id = 9) const uint DIAG = 0;
layout(constant_id = 10) const bool ROWS_FAST = false;
layout(constant_id = 11) const uint RBM = 4;
layout(constant_id = 12) const uint RBN = 2;  // k steps per loop trip (the trip costs, not the step)

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint batch_stride_a, batch_stride_b, batch_stride_c;  // elements; 0 broadcasts
};

const uint SG = gl_WorkGroupSize.x;
const uint RG = TM / SG;  // A values each lane gathers per k

float acc[TM][TN];
uint a_row;   // the first row this lane gathers (m0 + lane)
uint a_base;  // A's batch offset
uint b_offset[TN];  // op(B)(0, n) of this lane's columns

// KU steps of k: gather, then a register-blocked outer-product update, RBM rows x RBN columns at a
// time over all KU steps, so each accumulator is loaded and stored once per KU fmas. Steps past K
// (the last trip when KU does not divide K) read a valid k and use zeros: no second copy of the
// body for a remainder, which halves the compile time.
void steps(uint k) {
  float vb[KU][TN], va[KU][RG];
  [[unroll]] for (uint u = 0; u < KU; ++u) {
    uint kk = min(k + u, K - 1);
    bool inside = k + u < K;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      float v = (DIAG & 1) != 0 ? float(kk + t) * 1e-3 : b[b_offset[t] + (TRANSPOSE_B ? kk : kk * N)];
      vb[u][t] = inside ? v : 0.0;
    }
    [[unroll]] for (uint r = 0; r < RG; ++r) {
      uint m = min(a_row + r * SG, M - 1);  // clamped: rows past M are computed, never stored
      float v = (DIAG & 2) != 0 ? float(kk + m) * 1e-3 : a[a_base + (TRANSPOSE_A ? kk * M + m : m * K + kk)];
      va[u][r] = inside ? v : 0.0;
    }
  }
  float avs[KU][TM];
  [[unroll]] for (uint u = 0; u < KU; ++u)
    [[unroll]] for (uint i = 0; i < TM; ++i) avs[u][i] = subgroupBroadcast(va[u][i / SG], i % SG);
  [[unroll]] for (uint ib = 0; ib < TM; ib += RBM) {
    [[unroll]] for (uint tb = 0; tb < TN; tb += RBN) {
      [[unroll]] for (uint u = 0; u < KU; ++u) {
        [[unroll]] for (uint i = ib; i < ib + RBM; ++i) {
          float av = avs[u][i];
          [[unroll]] for (uint t = tb; t < tb + RBN; ++t) acc[i][t] = fma(av, vb[u][t], acc[i][t]);
        }
      }
    }
  }
}

void main() {
  uint lane = gl_LocalInvocationIndex;
  uint m0 = (ROWS_FAST ? gl_WorkGroupID.x : gl_WorkGroupID.y) * TM, n0 = (ROWS_FAST ? gl_WorkGroupID.y : gl_WorkGroupID.x) * SG * TN;
  uint base_a = gl_WorkGroupID.z * batch_stride_a;
  uint base_b = gl_WorkGroupID.z * batch_stride_b;
  uint base_c = gl_WorkGroupID.z * batch_stride_c;
  a_row = m0 + lane;
  a_base = base_a;
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint n = min(n0 + lane + t * SG, N - 1);
    b_offset[t] = base_b + (TRANSPOSE_B ? n * K : n);
  }
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint t = 0; t < TN; ++t) acc[i][t] = 0.0;

  for (uint k = 0; k < K; k += KU) steps(k);

  if ((DIAG & 8) != 0) {
    float total = 0.0;
    [[unroll]] for (uint i = 0; i < TM; ++i)
      [[unroll]] for (uint t = 0; t < TN; ++t) total += acc[i][t];
    c[base_c + min(m0 * N + n0 + lane, M * N - 1)] = total;
    return;
  }
  [[unroll]] for (uint i = 0; i < TM; ++i) {
    uint m = m0 + i;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint n = n0 + lane + t * SG;
      if (m < M && n < N) {
        uint index = base_c + m * N + n;
        float v = acc[i][t];
        if (ACCUMULATE) v += c[index];
        if (HAS_BIAS) v += bias[n];
        if (ACTIVATION == 1) v = max(v, 0.0);
        c[index] = v;
      }
    }
  }
}
