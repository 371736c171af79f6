#version 450
// conv2d backward-weight as an implicit GEMM, per group:
//   dWᵀ (Cin/g·kH·kW, Cout/g) = im2col(x)ᵀ (Cin/g·kH·kW, P) · dy (P, Cout/g),  P = N·Ho·Wo.
// Rows m are the weight columns (c, kh, kw), so result stores are contiguous along dW's last axes;
// the reduction runs over the output positions p, which loads walk so that neighbouring invocations
// read neighbouring addresses of x and dy. Each invocation loads one position p per slice (fixed
// offset in the slice) and advances its decoded (image, oh, ow) by BK with carries.
//
// Split-K: workgroup z = group + groups·split; split s reduces slices [s·slices_per_split, ...) and,
// when SPLIT, writes its partial sum to result + s·split_stride for conv2d_split_sum to add up in a
// fixed order (no float atomics). Without SPLIT the result is dW itself, optionally accumulated.
//
// Each invocation accumulates TM x TN outputs: fours of rows and of columns interleaved across the
// tile (rows 4·(tm + g·BM/TM) + 0..3, as in conv2d.comp and matmul.comp), so it reads the shared
// tiles as whole vec4s.
//
// Host-side invariants (lib/ops/conv2d.cpp): TM, TN multiples of 4; threads = (BM/TM)·(BN/TN);
// threads % BK == 0, BM % (threads/BK) == 0, BN % (threads/BK) == 0.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const bool SPLIT = false;
layout(constant_id = 7) const bool ACCUMULATE = false;  // dW += result (only without SPLIT)

layout(std430, binding = 0) readonly buffer Grad { float dy[]; };  // (N, Cout, Ho, Wo)
layout(std430, binding = 1) readonly buffer Input { float x[]; };  // (N, Cin, H, W)
layout(std430, binding = 2) buffer Result { float result[]; };    // dW (Cout, Cin/g, kH, kW) or partials
layout(push_constant) uniform Push {
  uint in_channels, in_h, in_w;
  uint out_channels, out_h, out_w;
  uint gemm_m, gemm_n, gemm_k;  // M = Cin/g·kH·kW, N = Cout/g, K = P
  uint kernel_h, kernel_w;
  uint stride_h, stride_w;
  int pad_h, pad_w;
  uint dilation_h, dilation_w;
  uint step_n, step_h, step_w;  // BK = step_n·Ho·Wo + step_h·Wo + step_w
  uint groups, slices_per_split, split_stride;
};

const uint kThreadsM = BM / TM;
const uint kThreadsN = BN / TN;
// Tile row strides in vec4s: stores walk k, and rows of BM + 4 (BN + 4) floats keep them on 16
// bytes while spreading the stores' banks.
const uint kBMPad4 = BM / 4 + 1;
const uint kBNPad4 = BN / 4 + 1;
const uint kSlotsA = BM * BK / (kThreadsM * kThreadsN);
const uint kSlotsB = BN * BK / (kThreadsM * kThreadsN);

shared vec4 tile_a[BK * kBMPad4];  // [k][m / 4]
shared vec4 tile_b[BK * kBNPad4];  // [k][n / 4]

void main() {
  const uint threads = gl_WorkGroupSize.x;
  const uint tid = gl_LocalInvocationIndex;
  const uint tm = tid % kThreadsM, tn = tid / kThreadsM;
  const uint group = gl_WorkGroupID.z % groups, split = gl_WorkGroupID.z / groups;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint taps = kernel_h * kernel_w;
  const uint in_group_channels = gemm_m / taps;
  const uint in_plane = in_h * in_w, out_plane = out_h * out_w;

  // The rows of A this invocation loads are fixed: decode each weight column once.
  const uint load_k = tid % BK;
  uint a_offset[kSlotsA];  // channel offset within the image, or ~0u past the end
  int a_h[kSlotsA], a_w[kSlotsA];
  for (uint s = 0; s < kSlotsA; ++s) {
    uint gm = m0 + tid / BK + s * (threads / BK);
    uint c = gm / taps, r = gm % taps;
    a_offset[s] = gm < gemm_m ? (group * in_group_channels + c) * in_plane : ~0u;
    a_h[s] = int((r / kernel_w) * dilation_h);
    a_w[s] = int((r % kernel_w) * dilation_w);
  }

  // This invocation's reduction position p, decoded.
  uint k_begin = split * slices_per_split * BK;
  uint k_end = min(gemm_k, k_begin + slices_per_split * BK);
  uint p = k_begin + load_k;
  uint image = p / out_plane, oh = (p % out_plane) / out_w, ow = p % out_w;

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  // Software pipelining as in conv2d.comp: slice k0's global loads are in flight while the FMAs of
  // slice k0 − BK run from shared memory.
  float stage_a[kSlotsA], stage_b[kSlotsB];
  for (uint k0 = k_begin;; k0 += BK) {
    if (k0 < k_end) {
      bool p_valid = k0 + load_k < k_end;
      int row0 = int(oh * stride_h) - pad_h, col0 = int(ow * stride_w) - pad_w;
      uint x_base = image * in_channels * in_plane;
      for (uint s = 0; s < kSlotsA; ++s) {
        float v = 0.0;
        int ih = row0 + a_h[s], iw = col0 + a_w[s];
        if (p_valid && a_offset[s] != ~0u && ih >= 0 && ih < int(in_h) && iw >= 0 && iw < int(in_w))
          v = x[x_base + a_offset[s] + uint(ih) * in_w + uint(iw)];
        stage_a[s] = v;
      }
      uint dy_base = (image * out_channels + group * gemm_n) * out_plane + oh * out_w + ow;
      for (uint s = 0; s < kSlotsB; ++s) {
        uint gn = n0 + tid / BK + s * (threads / BK);
        stage_b[s] = p_valid && gn < gemm_n ? dy[dy_base + gn * out_plane] : 0.0;
      }
      ow += step_w;
      if (ow >= out_w) { ow -= out_w; oh += 1; }
      oh += step_h;
      if (oh >= out_h) { oh -= out_h; image += 1; }
      image += step_n;
    }
    if (k0 > k_begin) {
      for (uint k = 0; k < BK; ++k) {
        vec4 ra[TM / 4], rb[TN / 4];
        for (uint g = 0; g < TM / 4; ++g) ra[g] = tile_a[k * kBMPad4 + tm + g * kThreadsM];
        for (uint h = 0; h < TN / 4; ++h) rb[h] = tile_b[k * kBNPad4 + tn + h * kThreadsN];
        for (uint i = 0; i < TM; ++i)
          for (uint j = 0; j < TN; ++j)
            acc[i][j] = fma(ra[i / 4][i % 4], rb[j / 4][j % 4], acc[i][j]);
      }
      barrier();
    }
    if (k0 >= k_end) break;
    for (uint s = 0; s < kSlotsA; ++s) {
      uint m = tid / BK + s * (threads / BK);
      tile_a[load_k * kBMPad4 + m / 4][m % 4] = stage_a[s];
    }
    for (uint s = 0; s < kSlotsB; ++s) {
      uint n = tid / BK + s * (threads / BK);
      tile_b[load_k * kBNPad4 + n / 4][n % 4] = stage_b[s];
    }
    barrier();
  }

  // dW[(g·Cout/g + n)·M + m]; partials of split s sit split_stride further on.
  uint base = SPLIT ? split * split_stride : 0;
  for (uint i = 0; i < TM; ++i) {
    uint gm = m0 + 4 * (tm + (i / 4) * kThreadsM) + i % 4;
    if (gm >= gemm_m) continue;
    for (uint j = 0; j < TN; ++j) {
      uint gn = n0 + 4 * (tn + (j / 4) * kThreadsN) + j % 4;
      if (gn >= gemm_n) continue;
      uint index = base + (group * gemm_n + gn) * gemm_m + gm;
      float v = acc[i][j];
      if (!SPLIT && ACCUMULATE) v += result[index];
      result[index] = v;
    }
  }
}
