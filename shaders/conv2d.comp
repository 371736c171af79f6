#version 450
// conv2d forward (MODE 0) and backward-data (MODE 1) as an implicit GEMM, per group (workgroup z):
//   forward:  y  (M = N·Ho·Wo, Cout/g) = im2col(x)   (M, Cin/g·kH·kW)  · Wᵀ
//   backward: dx (M = N·H·W,  Cin/g)   = col2im-gather(dy) (M, Cout/g·kH·kW) · W
// The gathered operand A is never materialised: each element is read straight from the activation
// (zero outside the image, and in MODE 1 also where the stride skips the position). A workgroup
// computes a BM x BN tile of the result, staging BK-deep slices of A and of the weight in shared
// memory; each invocation accumulates a TM x TN block in registers: fours of rows and of columns
// interleaved across the tile (rows 4·(tm + g·BM/TM) + 0..3, as in matmul.comp), so its shared
// reads are whole vec4s, neighbouring invocations reading neighbouring ones. Rows m run along the
// spatial positions so that activation loads and result stores of neighbouring invocations hit
// neighbouring addresses.
//
// Column k of A is (kc, kh, kw) with kc the channel within the group (input channel forward, output
// channel backward). Each invocation keeps the decoded (kc, kh, kw) of the columns it loads and
// advances it by BK per slice with carries (step_c, step_h, step_w = BK split the same way), so the
// inner loop has no integer division.
//
// Host-side invariants (lib/ops/conv2d.cpp): TM, TN multiples of 4; threads = (BM/TM)·(BN/TN);
// threads % BM == 0, BK % (threads/BM) == 0, threads % BK == 0, BN % (threads/BK) == 0.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint MODE = 0;  // 0 forward, 1 backward-data
layout(constant_id = 7) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer Source { float source[]; };  // x or dy, (N, C, H, W)
layout(std430, binding = 1) readonly buffer Weight { float weight[]; };  // (Cout, Cin/g, kH, kW)
layout(std430, binding = 2) writeonly buffer Result { float result[]; };  // y or dx, (N, C, H, W)
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };      // (Cout,)
layout(push_constant) uniform Push {
  uint src_channels, src_h, src_w;  // the gathered tensor: x (forward) or dy (backward)
  uint dst_channels, dst_h, dst_w;  // the result: y (forward) or dx (backward)
  uint gemm_m, gemm_n, gemm_k;      // M = N·dst_h·dst_w, N = dst channels/g, K = src channels/g·kH·kW
  uint kernel_h, kernel_w;
  uint stride_h, stride_w;
  int pad_h, pad_w;
  uint dilation_h, dilation_w;
  uint step_c, step_h, step_w;  // BK = step_c·kH·kW + step_h·kW + step_w
};

const uint kThreadsM = BM / TM;
const uint kThreadsN = BN / TN;
// Weight tile row stride in vec4s: stores walk k, and a row of BN + 4 floats keeps rows on 16
// bytes while spreading the stores' banks.
const uint kBNPad4 = BN / 4 + 1;
const uint kSlotsA = BM * BK / (kThreadsM * kThreadsN);
const uint kSlotsB = BN * BK / (kThreadsM * kThreadsN);

shared vec4 tile_a[BK * BM / 4];  // [k][m / 4]
shared vec4 tile_b[BK * kBNPad4];  // [k][n / 4]

void main() {
  const uint threads = gl_WorkGroupSize.x;
  const uint tid = gl_LocalInvocationIndex;
  const uint tm = tid % kThreadsM, tn = tid / kThreadsM;
  const uint group = gl_WorkGroupID.z;
  // Tiles of m run along x, folded into y past the x limit: y = n tile + n_tiles · fold.
  const uint n_tiles = (gemm_n + BN - 1) / BN;
  const uint m0 = (gl_WorkGroupID.x + gl_NumWorkGroups.x * (gl_WorkGroupID.y / n_tiles)) * BM;
  const uint n0 = (gl_WorkGroupID.y % n_tiles) * BN;
  if (m0 >= gemm_m) return;  // the fold's last row of tiles may overhang; uniform per workgroup
  const uint taps = kernel_h * kernel_w;
  const uint src_group_channels = gemm_k / taps;
  const uint src_plane = src_h * src_w, dst_plane = dst_h * dst_w;

  // This invocation's row of A (fixed for all slices): the result position it gathers for.
  const uint load_m = tid % BM;
  const uint m = m0 + load_m;
  const bool m_valid = m < gemm_m;
  const uint image = m / dst_plane, position = m % dst_plane;
  const int row = int(position / dst_w), col = int(position % dst_w);
  const uint src_base = (image * src_channels + group * src_group_channels) * src_plane;
  // Forward: input row of tap 0. Backward: the padded row that taps subtract from.
  const int row0 = MODE == 0 ? row * int(stride_h) - pad_h : row + pad_h;
  const int col0 = MODE == 0 ? col * int(stride_w) - pad_w : col + pad_w;

  // Decoded columns of A for each load slot, advanced by BK per slice.
  uint a_c[kSlotsA], a_h[kSlotsA], a_w[kSlotsA];
  for (uint s = 0; s < kSlotsA; ++s) {
    uint k = tid / BM + s * (threads / BM);
    a_c[s] = k / taps;
    a_h[s] = (k % taps) / kernel_w;
    a_w[s] = k % kernel_w;
  }
  // The weight column this invocation loads (k fixed per invocation), as (channel, tap).
  const uint load_k = tid % BK;
  uint b_c = load_k / taps, b_r = load_k % taps;
  const uint step_r = step_h * kernel_w + step_w;
  const uint weight_group = group * gemm_n * gemm_k;

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  // Software pipelining: the global loads of slice k0 are issued into registers before the FMAs of
  // slice k0 − BK run from shared memory, so their latency hides behind arithmetic.
  float stage_a[kSlotsA], stage_b[kSlotsB];
  for (uint k0 = 0;; k0 += BK) {
    if (k0 < gemm_k) {
      for (uint s = 0; s < kSlotsA; ++s) {
        float v = 0.0;
        if (m_valid && a_c[s] < src_group_channels) {
          int h = int(a_h[s] * dilation_h), w = int(a_w[s] * dilation_w);
          if (MODE == 0) {
            int ih = row0 + h, iw = col0 + w;
            if (ih >= 0 && ih < int(src_h) && iw >= 0 && iw < int(src_w))
              v = source[src_base + a_c[s] * src_plane + uint(ih) * src_w + uint(iw)];
          } else {
            // dx[row, col] receives dy[oh, ow] through tap (h, w) when row + pad = oh·stride + h.
            int th = row0 - h, tw = col0 - w;
            if (th >= 0 && tw >= 0 && th % int(stride_h) == 0 && tw % int(stride_w) == 0) {
              uint oh = uint(th) / stride_h, ow = uint(tw) / stride_w;
              if (oh < src_h && ow < src_w)
                v = source[src_base + a_c[s] * src_plane + oh * src_w + ow];
            }
          }
        }
        stage_a[s] = v;
        a_w[s] += step_w;
        if (a_w[s] >= kernel_w) { a_w[s] -= kernel_w; a_h[s] += 1; }
        a_h[s] += step_h;
        if (a_h[s] >= kernel_h) { a_h[s] -= kernel_h; a_c[s] += 1; }
        a_c[s] += step_c;
      }
      for (uint s = 0; s < kSlotsB; ++s) {
        uint gn = n0 + tid / BK + s * (threads / BK);
        float v = 0.0;
        if (gn < gemm_n && b_c < src_group_channels) {
          // Forward: W[g·Cout/g + n, kc, tap]; backward: W[g·Cout/g + kc, n, tap].
          uint index = MODE == 0 ? gn * gemm_k + b_c * taps + b_r
                                 : (b_c * gemm_n + gn) * taps + b_r;
          v = weight[weight_group + index];
        }
        stage_b[s] = v;
      }
      b_r += step_r;
      if (b_r >= taps) { b_r -= taps; b_c += 1; }
      b_c += step_c;
    }
    if (k0 > 0) {
      for (uint k = 0; k < BK; ++k) {
        vec4 ra[TM / 4], rb[TN / 4];
        for (uint g = 0; g < TM / 4; ++g) ra[g] = tile_a[k * (BM / 4) + tm + g * kThreadsM];
        for (uint h = 0; h < TN / 4; ++h) rb[h] = tile_b[k * kBNPad4 + tn + h * kThreadsN];
        for (uint i = 0; i < TM; ++i)
          for (uint j = 0; j < TN; ++j)
            acc[i][j] = fma(ra[i / 4][i % 4], rb[j / 4][j % 4], acc[i][j]);
      }
      barrier();
    }
    if (k0 >= gemm_k) break;
    for (uint s = 0; s < kSlotsA; ++s)
      tile_a[(tid / BM + s * (threads / BM)) * (BM / 4) + load_m / 4][load_m % 4] = stage_a[s];
    for (uint s = 0; s < kSlotsB; ++s) {
      uint n = tid / BK + s * (threads / BK);
      tile_b[load_k * kBNPad4 + n / 4][n % 4] = stage_b[s];
    }
    barrier();
  }

  for (uint i = 0; i < TM; ++i) {
    uint gm = m0 + 4 * (tm + (i / 4) * kThreadsM) + i % 4;
    if (gm >= gemm_m) continue;
    uint out_base = (gm / dst_plane) * dst_channels * dst_plane + gm % dst_plane;
    for (uint j = 0; j < TN; ++j) {
      uint gn = n0 + 4 * (tn + (j / 4) * kThreadsN) + j % 4;
      if (gn >= gemm_n) continue;
      uint channel = group * gemm_n + gn;
      float v = acc[i][j];
      if (HAS_BIAS) v += bias[channel];
      result[out_base + channel * dst_plane] = v;
    }
  }
}
