#version 450
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_EXT_control_flow_attributes : enable
// conv2d forward (MODE 0) and backward-data (MODE 1, unit stride) as conv2d_subgroup.comp's
// implicit GEMM, with both operands read through uniform-buffer windows — the conv2d for CPU
// drivers, for the reason matmul_packed.comp gives: llvmpipe gathers a uniform-buffer load at a
// non-uniform offset branch-free, where a storage-buffer load is a loop over the lanes.
// lib/ops/conv2d_packed.cpp sets it up; ungrouped convolutions only (groups = 1).
//   forward:  y  (Cout, P) = W  (Cout, Cin·kH·kW) · im2col(x)      per image, P = Ho·Wo
//   backward: dx (Cin, P)  = Wᵀ (Cin, Cout·kH·kW) · col2im-gather(dy), P = H·W
// A workgroup is one subgroup of SG lanes owning TM result channels x SG·TN positions of one
// image; every lane reads the same weights, packed by conv2d_weight_pack.comp into k-major tiles
// (a vec4 is four channels' weights at one k). The source comes zero-padded (conv2d_pad.comp) so
// that no gather needs a bounds check: result position (r, c) reads padded row r·stride_h + h,
// column c·stride_w + w, where tap (kh, kw) is at h = kh·dilation_h forward and h = (KH - 1 -
// kh)·dilation_h backward (dx[r, c] gets dy[r + pad - kh·dilation] · W[kh]; the backward padding
// is dilation·(KH - 1) - pad).
// Positions: QUADS (stride_w = dilation_w = 1) gives a lane TN/4 quads, four consecutive columns
// of a row each (rows counted in whole quads, qw a row); a quad's taps of a kernel row are V
// aligned vec4 loads (the padded rows are a multiple of 4 floats wide), where one float a tap
// would be 4·KW gathers. Otherwise lane l owns positions p0 + l + SG·t (t < TN), a float a tap.
// STORE4 (QUADS, rows of whole quads): a quad's results of a channel are one vec4 store, where four
// scattered float stores were a third of the 1-channel layer's time on lavapipe.
// Per k = (kc, kh, kw): TM/4 vec4 weight loads for TM·TN fmas per lane, summed in
// conv2d_subgroup.comp's order, so results are bit-identical to it.
// Windows: [0, u_windows) hold the block's channel tiles (window y: tile c0/TM + y, gemm_k·TM
// floats); [u_windows, ...) the padded source planes (one channel of one image, src_h·src_w
// floats) of the block's images, planes_per_window whole planes each, from plane
// image0·src_channels; window w starts at float (src_start + w·planes_per_window·plane) rounded
// down to a multiple of 4 (the 16-byte alignment of a uniform-buffer offset; QUADS: exact).
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // result channels per workgroup, a multiple of 4
layout(constant_id = 2) const uint TN = 4;   // positions per lane (QUADS: a multiple of 4)
layout(constant_id = 3) const uint MODE = 0;  // 0 forward, 1 backward-data (unit stride)
layout(constant_id = 4) const bool HAS_BIAS = false;
layout(constant_id = 5) const uint KH = 3;  // the kernel's size: the tap loops unroll
layout(constant_id = 6) const uint KW = 3;
layout(constant_id = 7) const bool QUADS = false;
// QUADS with rows of whole quads (dst_w a multiple of 4) and the result on 16 bytes: a quad's four
// results of a channel are one vec4 store.
layout(constant_id = 8) const bool STORE4 = false;

#include "uniform_windows.glsl"
const uint kQuads = QUADS ? TN / 4 : 0;  // quads per lane
const uint kQuadArrays = QUADS ? TN / 4 : 1;
const uint V = (KW + 6) / 4;             // vec4s a quad's taps of one kernel row span

layout(std430, binding = 0) writeonly buffer Result { float result[]; };  // y or dx, (N, C, H, W)
layout(std430, binding = 0) writeonly buffer Result4 { vec4 result4[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };      // (Cout,)
layout(std140, binding = 2) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push {
  uint src_channels, src_h, src_w;  // the padded source: x (forward) or dy (backward)
  uint dst_channels, dst_h, dst_w;  // the result: y (forward) or dx (backward)
  uint gemm_k;                      // src_channels·KH·KW
  uint stride_h, stride_w;          // backward: 1
  uint dilation_h, dilation_w;
  uint u_windows;          // weight windows, one per channel tile of the block
  uint c0;                 // the block's first result channel
  uint image0;             // the block's first image
  uint src_start;          // float index of the block's first source plane
  uint planes_per_window;  // whole source planes per window
  uint qw;                 // QUADS: quads a result row
};

const uint SG = gl_WorkGroupSize.x;

float acc[TM][TN];

float gather(uint window, uint index) { return windows[window].v[index >> 2][index & 3]; }

// acc += W[tile rows, k] ⊗ source values of the lane's positions (vb)
void fma_step(uint tile, uint k, float vb[TN]) {
  [[unroll]] for (uint q = 0; q < TM / 4; ++q) {
    const vec4 w = windows[tile].v[k * (TM / 4) + q];  // the same for every lane
    [[unroll]] for (uint e = 0; e < 4; ++e)
      [[unroll]] for (uint t = 0; t < TN; ++t) acc[4 * q + e][t] = fma(w[e], vb[t], acc[4 * q + e][t]);
  }
}

// The lane's position t as a float index of the result plane, or ~0u past its end.
uint position(uint t) {
  const uint lane = gl_SubgroupInvocationID;
  if (!QUADS) {
    uint p = gl_WorkGroupID.x * (SG * TN) + lane + SG * t;
    return p < dst_h * dst_w ? p : ~0u;
  }
  uint q = gl_WorkGroupID.x * (SG * kQuads) + lane + SG * (t / 4), c = 4 * (q % qw) + t % 4;
  return q < dst_h * qw && c < dst_w ? q / qw * dst_w + c : ~0u;
}

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint image = gl_WorkGroupID.z;  // within the block
  const uint tile = gl_WorkGroupID.y;   // channel tile within the block: its window
  const uint cb = c0 + tile * TM;
  const uint src_plane = src_h * src_w, dst_plane = dst_h * dst_w;

  // Where this lane's positions (QUADS: its quads, in vec4s) gather tap (0, 0) in a padded plane
  // (positions past the plane gather its last one, unstored).
  uint at[TN];
  [[unroll]] for (uint t = 0; t < (QUADS ? kQuads : TN); ++t) {
    if (QUADS) {
      uint q = min(gl_WorkGroupID.x * (SG * kQuads) + lane + SG * t, dst_h * qw - 1);
      at[t] = (q / qw * stride_h * src_w) / 4 + q % qw;
    } else {
      uint p = min(gl_WorkGroupID.x * (SG * TN) + lane + SG * t, dst_plane - 1);
      at[t] = (p / dst_w) * stride_h * src_w + (p % dst_w) * stride_w;
    }
  }

  [[unroll]] for (uint r = 0; r < TM; ++r)
    [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = 0.0;

  for (uint kc = 0; kc < src_channels; ++kc) {
    const uint plane = image * src_channels + kc;  // within the block
    const uint w = plane / planes_per_window;
    const uint start = src_start + w * planes_per_window * src_plane;
    const uint window = u_windows + w;
    const uint base = (start & 3u) + (plane - w * planes_per_window) * src_plane;
    [[unroll]] for (uint kh = 0; kh < KH; ++kh) {
      const uint h = (MODE == 0 ? kh : KH - 1 - kh) * dilation_h;
      if (QUADS) {
        const uint row = (base + h * src_w) / 4;  // a multiple of 4 floats
        vec4 s[kQuadArrays][V];
        [[unroll]] for (uint g = 0; g < kQuads; ++g)
          [[unroll]] for (uint i = 0; i < V; ++i) s[g][i] = windows[window].v[row + at[g] + i];
        [[unroll]] for (uint kw = 0; kw < KW; ++kw) {
          const uint o = MODE == 0 ? kw : KW - 1 - kw;
          float vb[TN];
          [[unroll]] for (uint t = 0; t < TN; ++t) vb[t] = s[t / 4][(o + t % 4) / 4][(o + t % 4) % 4];
          fma_step(tile, kc * (KH * KW) + kh * KW + kw, vb);
        }
      } else {
        [[unroll]] for (uint kw = 0; kw < KW; ++kw) {
          const uint tap = base + h * src_w + (MODE == 0 ? kw : KW - 1 - kw) * dilation_w;
          float vb[TN];
          [[unroll]] for (uint t = 0; t < TN; ++t) vb[t] = gather(window, tap + at[t]);
          fma_step(tile, kc * (KH * KW) + kh * KW + kw, vb);
        }
      }
    }
  }

  if (STORE4) {
    uint quad_at[kQuadArrays];
    [[unroll]] for (uint g = 0; g < kQuads; ++g) {
      uint q = gl_WorkGroupID.x * (SG * kQuads) + lane + SG * g;
      quad_at[g] = q < dst_h * qw ? q / qw * dst_w + 4 * (q % qw) : ~0u;
    }
    [[unroll]] for (uint r = 0; r < TM; ++r) {
      uint c = cb + r;
      if (c >= dst_channels) break;
      float b = HAS_BIAS ? bias[c] : 0.0;
      uint plane_at = ((image0 + image) * dst_channels + c) * dst_plane;
      [[unroll]] for (uint g = 0; g < kQuads; ++g) {
        if (quad_at[g] == ~0u) continue;
        result4[(plane_at + quad_at[g]) / 4] =
            vec4(acc[r][4 * g], acc[r][4 * g + 1], acc[r][4 * g + 2], acc[r][4 * g + 3]) + b;
      }
    }
    return;
  }
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint c = cb + r;
    if (c >= dst_channels) break;
    float b = HAS_BIAS ? bias[c] : 0.0;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint p = position(t);
      if (p == ~0u) continue;
      result[((image0 + image) * dst_channels + c) * dst_plane + p] = acc[r][t] + b;
    }
  }
}
