#version 450
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_EXT_control_flow_attributes : enable
// conv2d backward-weight as conv2d_wgrad_subgroup.comp's implicit GEMM, with dy and the
// zero-padded input (conv2d_pad.comp) read through uniform-buffer windows (see conv2d_packed.comp
// for why); ungrouped convolutions whose images' dy and padded x fit a window each.
//   dW (Cout, Cin·kH·kW) = dy (Cout, P) · im2col(x)ᵀ (P, Cin·kH·kW),  P = N·Ho·Wo.
// A workgroup is one subgroup of SG lanes owning TM output channels x SG·TN weight columns
// (c, kh, kw): lane l gathers the inputs of columns j0 + l + SG·t itself; every lane reads the
// same dy values. A dispatch covers the images [image0, image0 + images): window 2i holds image
// i's dy (Cout planes of Ho·Wo), window 2i + 1 its padded x (Cin planes of src_h x src_w), each
// from the image's first float rounded down to a multiple of 4 (the uniform offset alignment).
// Workgroup z is split split0 + z of conv2d_wgrad_subgroup.comp's splits (positions
// [split·split_positions, +split_positions)); it sums the part of its split inside this
// dispatch's images, in order, continuing from the sums the previous dispatch stored in
// Partial when the split began there, and stores its sums to Partial, or — where the split ends
// here — to Result (SPLIT: Result holds the splits' partials, for conv2d_split_sum, and serves as
// Partial too). Every output is the same
// fma chain as in conv2d_wgrad_subgroup.comp: bit-identical results.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // output channels per workgroup
layout(constant_id = 2) const uint TN = 8;   // weight columns per lane
layout(constant_id = 3) const bool SPLIT = false;
layout(constant_id = 4) const bool ACCUMULATE = false;  // dW += result (only without SPLIT)
layout(constant_id = 5) const uint KH = 3;
layout(constant_id = 6) const uint KW = 3;

#include "uniform_windows.glsl"

layout(std430, binding = 0) buffer Result { float result[]; };    // dW (Cout, Cin, kH, kW) or partials
layout(std430, binding = 1) buffer Partial { float partial[]; };  // like Result: sums so far
layout(std140, binding = 2) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push {
  uint in_channels, src_h, src_w;  // x, and its padded planes
  uint out_channels, out_h, out_w;
  uint gemm_m;                     // Cin·kH·kW
  uint stride_h, stride_w, dilation_h, dilation_w;
  uint split_positions;  // positions per split
  uint positions;        // N·Ho·Wo
  uint split0;           // the first split this dispatch runs
  uint image0, images;
  uint split_stride;     // floats between splits' partials (SPLIT)
};

const uint SG = gl_WorkGroupSize.x;

float load(uint window, uint index) { return windows[window].v[index >> 2][index & 3]; }
float sums_so_far(uint index) { return SPLIT ? result[index] : partial[index]; }
void keep(uint index, float v) {
  if (SPLIT)
    result[index] = v;
  else
    partial[index] = v;
}

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint split = split0 + gl_WorkGroupID.z;
  const uint j0 = gl_WorkGroupID.x * (SG * TN), n0 = gl_WorkGroupID.y * TM;
  const uint out_plane = out_h * out_w, src_plane = src_h * src_w;
  // This split's positions inside this dispatch's images.
  const uint split_begin = split * split_positions;
  const uint split_end = min(positions, split_begin + split_positions);
  const uint k_begin = max(split_begin, image0 * out_plane);
  const uint k_end = min(split_end, (image0 + images) * out_plane);
  if (k_begin >= k_end) return;  // uniform per workgroup
  const bool first = k_begin == split_begin, last = k_end == split_end;

  // This lane's weight columns (c, kh, kw): where tap (kh, kw) of channel c starts in a padded x.
  uint x_at[TN];
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint j = min(j0 + lane + SG * t, gemm_m - 1);
    uint c = j / (KH * KW), r = j % (KH * KW);
    x_at[t] = c * src_plane + (r / KW) * dilation_h * src_w + (r % KW) * dilation_w;
  }
  // The dy plane of each of the tile's channels (past the last: the last, unstored).
  uint dy_at[TM];
  [[unroll]] for (uint r = 0; r < TM; ++r) dy_at[r] = min(n0 + r, out_channels - 1) * out_plane;

  // dW[n·M + j]; a split's partials sit split_stride further on.
  const uint base = SPLIT ? split * split_stride : 0;
  float acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint n = n0 + r, j = j0 + lane + SG * t;
      acc[r][t] = !first && n < out_channels && j < gemm_m ? sums_so_far(base + n * gemm_m + j) : 0.0;
    }
  }

  uint image = k_begin / out_plane, p = k_begin % out_plane;
  uint oh = p / out_w, ow = p % out_w;
  uint w = 2 * (image - image0);
  uint dy_delta = (image * out_channels * out_plane) & 3u;
  uint x_delta = (image * in_channels * src_plane) & 3u;
  for (uint k = k_begin; k < k_end; ++k) {
    const uint at = x_delta + oh * stride_h * src_w + ow * stride_w;
    const uint dy_p = dy_delta + oh * out_w + ow;
    float vb[TN];
    [[unroll]] for (uint t = 0; t < TN; ++t) vb[t] = load(w + 1, x_at[t] + at);
    [[unroll]] for (uint r = 0; r < TM; ++r) {
      const float dy_value = load(w, dy_at[r] + dy_p);  // the same for every lane
      [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = fma(vb[t], dy_value, acc[r][t]);
    }
    if (++ow == out_w) {
      ow = 0;
      if (++oh == out_h) {
        oh = 0;
        ++image;
        w += 2;
        dy_delta = (image * out_channels * out_plane) & 3u;
        x_delta = (image * in_channels * src_plane) & 3u;
      }
    }
  }

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint n = n0 + r;
    if (n >= out_channels) break;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint j = j0 + lane + SG * t;
      if (j >= gemm_m) continue;
      uint index = base + n * gemm_m + j;
      float v = acc[r][t];
      if (!last) {
        keep(index, v);
        continue;
      }
      if (!SPLIT && ACCUMULATE) v += result[index];
      result[index] = v;
    }
  }
}
