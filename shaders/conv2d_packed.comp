#version 450
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_EXT_control_flow_attributes : enable
// conv2d forward (MODE 0) and backward-data (MODE 1, unit stride) as conv2d_subgroup.comp's
// implicit GEMM, with both operands read through uniform-buffer windows — the conv2d for CPU
// drivers, for the reason matmul_packed.comp gives: llvmpipe gathers a uniform-buffer load at a
// non-uniform offset branch-free, where a storage-buffer load is a loop over the lanes.
// lib/ops/conv2d_packed.cpp sets it up; ungrouped convolutions only (groups = 1).
//   forward:  y  (Cout, P) = W  (Cout, Cin·kH·kW) · im2col(x)      per image, P = Ho·Wo
//   backward: dx (Cin, P)  = Wᵀ (Cin, Cout·kH·kW) · col2im-gather(dy), P = H·W, with Wᵀ the
//             weight transposed to (Cin, Cout, kH, kW) by conv2d_weight_transpose.comp
// A workgroup is one subgroup of SG lanes owning TM result channels x SG·TN positions of one
// image: lane l gathers positions p0 + l + SG·t (t < TN) itself; every lane reads the same
// weights. The source comes zero-padded (conv2d_pad.comp) so that no gather needs a bounds check:
// result position (r, c) reads padded row r·stride_h + h, column c·stride_w + w, where tap (kh,
// kw) is at h = kh·dilation_h forward and h = (KH - 1 - kh)·dilation_h backward (dx[r, c] gets
// dy[r + pad - kh·dilation] · W[kh]; the backward padding is dilation·(KH - 1) - pad). Per step
// (kc, kh, kw): TN gathers and TM uniform loads for TM·TN fmas per lane, summed in
// conv2d_subgroup.comp's order, so results are bit-identical to it.
// Windows: [0, u_windows) hold the block's channel tiles of weight rows (window y: rows c0 + y·TM
// and on, k-contiguous, gemm_k floats a row); [u_windows, ...) the padded source planes (one
// channel of one image, src_h·src_w floats) of the block's images, planes_per_window whole planes
// each, from plane image0·src_channels; window w starts at float (src_start +
// w·planes_per_window·plane) rounded down to a multiple of 4 (the 16-byte alignment of a
// uniform-buffer offset).
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // result channels per workgroup
layout(constant_id = 2) const uint TN = 4;   // positions per lane
layout(constant_id = 3) const uint MODE = 0;  // 0 forward, 1 backward-data (unit stride)
layout(constant_id = 4) const bool HAS_BIAS = false;
layout(constant_id = 5) const uint KH = 3;  // the kernel's size: the tap loops unroll
layout(constant_id = 6) const uint KW = 3;

const uint kWindows = 14;        // lib/ops/conv2d_packed.cpp: kPackedWindows
const uint kWindowVec4s = 4096;  // 64 KiB

layout(std430, binding = 0) writeonly buffer Result { float result[]; };  // y or dx, (N, C, H, W)
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };      // (Cout,)
layout(std140, binding = 2) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push {
  uint src_channels, src_h, src_w;  // the padded source: x (forward) or dy (backward)
  uint dst_channels, dst_h, dst_w;  // the result: y (forward) or dx (backward)
  uint gemm_k;                      // a weight row: src_channels·KH·KW
  uint stride_h, stride_w;          // backward: 1
  uint dilation_h, dilation_w;
  uint u_windows;          // weight windows, one per channel tile of the block
  uint c0;                 // the block's first result channel
  uint image0;             // the block's first image
  uint src_start;          // float index of the block's first source plane
  uint planes_per_window;  // whole source planes per window
};

const uint SG = gl_WorkGroupSize.x;

float gather(uint window, uint index) { return windows[window].v[index >> 2][index & 3]; }

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint image = gl_WorkGroupID.z;  // within the block
  const uint tile = gl_WorkGroupID.y;   // channel tile within the block: its window
  const uint cb = c0 + tile * TM;
  const uint p0 = gl_WorkGroupID.x * (SG * TN);
  const uint src_plane = src_h * src_w, dst_plane = dst_h * dst_w;

  // Where this lane's positions gather tap (0, 0) in a padded plane (positions past the plane
  // gather its last one, unstored).
  uint at[TN];
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint p = min(p0 + lane + SG * t, dst_plane - 1);
    at[t] = (p / dst_w) * stride_h * src_w + (p % dst_w) * stride_w;
  }
  // Each weight row's start in the tile's window; rows past the last channel read the last one.
  uint u_at[TM];
  [[unroll]] for (uint r = 0; r < TM; ++r)
    u_at[r] = (min(cb + r, dst_channels - 1) - cb) * gemm_k;

  float acc[TM][TN];
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
      [[unroll]] for (uint kw = 0; kw < KW; ++kw) {
        const uint tap = base + h * src_w + (MODE == 0 ? kw : KW - 1 - kw) * dilation_w;
        const uint k = kc * (KH * KW) + kh * KW + kw;
        float vb[TN];
        [[unroll]] for (uint t = 0; t < TN; ++t) vb[t] = gather(window, tap + at[t]);
        [[unroll]] for (uint r = 0; r < TM; ++r) {
          const float weight = gather(tile, u_at[r] + k);  // the same for every lane
          [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = fma(weight, vb[t], acc[r][t]);
        }
      }
    }
  }

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint c = cb + r;
    if (c >= dst_channels) break;
    float b = HAS_BIAS ? bias[c] : 0.0;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint p = p0 + lane + SG * t;
      if (p >= dst_plane) continue;
      result[((image0 + image) * dst_channels + c) * dst_plane + p] = acc[r][t] + b;
    }
  }
}
