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
// CHANNEL_LANES, for few weight columns (Cin·kH·kW < 32, the 1-channel layer's 9, where lanes
// owning columns would mostly idle): the tile turned over — TM weight columns (j0 + r) by SG·TN
// output channels, lane l owning channels channel0 + l + SG·t, every lane reading the same x values
// and its own dy values. The dispatch covers those SG·TN channels only: window 2i holds them of
// image i's dy (from channel0's plane), so a window needs SG·TN planes, not Cout.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
// TM, TN: CHANNEL_LANES turns them over (TM weight columns, TN channels per lane).
layout(constant_id = 1) const uint TM = 16;  // output channels per workgroup
layout(constant_id = 2) const uint TN = 8;   // weight columns per lane
layout(constant_id = 3) const bool SPLIT = false;
layout(constant_id = 4) const bool ACCUMULATE = false;  // dW += result (only without SPLIT)
layout(constant_id = 5) const uint KH = 3;
layout(constant_id = 6) const uint KW = 3;
layout(constant_id = 7) const bool CHANNEL_LANES = false;
// SLIDE (CHANNEL_LANES, unit stride and dilation along rows, all the weight columns in the
// workgroup): along a row of positions each tap's x value is the next tap's of the position
// before, so a position loads only its last column of taps and shifts the others.
layout(constant_id = 8) const bool SLIDE = false;

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
  uint channel0;         // the first channel of the dy windows (0 without CHANNEL_LANES)
};

const uint SG = gl_WorkGroupSize.x;
const uint kColumns = CHANNEL_LANES ? TM : TN;   // weight columns a lane's accumulators span
const uint kChannels = CHANNEL_LANES ? TN : TM;  // output channels likewise

uint lane, j0, n0;
float acc[TM][TN];
// Accumulator (r, t) is dW[channel_of(r, t)][column_of(r, t)].
uint channel_of(uint r, uint t) { return CHANNEL_LANES ? n0 + lane + SG * t : n0 + r; }
uint column_of(uint r, uint t) { return CHANNEL_LANES ? j0 + r : j0 + lane + SG * t; }

float load(uint window, uint index) { return windows[window].v[index >> 2][index & 3]; }
float sums_so_far(uint index) { return SPLIT ? result[index] : partial[index]; }
void keep(uint index, float v) {
  if (SPLIT)
    result[index] = v;
  else
    partial[index] = v;
}

void accumulate(float vx[kColumns], float vdy[kChannels]) {
  [[unroll]] for (uint r = 0; r < TM; ++r)
    [[unroll]] for (uint t = 0; t < TN; ++t)
      acc[r][t] = fma(vx[CHANNEL_LANES ? r : t], vdy[CHANNEL_LANES ? t : r], acc[r][t]);
}

void main() {
  lane = gl_SubgroupInvocationID;
  const uint split = split0 + gl_WorkGroupID.z;
  j0 = gl_WorkGroupID.x * (CHANNEL_LANES ? TM : SG * TN);
  n0 = CHANNEL_LANES ? channel0 : gl_WorkGroupID.y * TM;
  const uint out_plane = out_h * out_w, src_plane = src_h * src_w;
  // This split's positions inside this dispatch's images.
  const uint split_begin = split * split_positions;
  const uint split_end = min(positions, split_begin + split_positions);
  const uint k_begin = max(split_begin, image0 * out_plane);
  const uint k_end = min(split_end, (image0 + images) * out_plane);
  if (k_begin >= k_end) return;  // uniform per workgroup
  const bool first = k_begin == split_begin, last = k_end == split_end;

  // The weight columns (c, kh, kw) read: where tap (kh, kw) of channel c starts in a padded x.
  uint x_at[kColumns];
  [[unroll]] for (uint i = 0; i < kColumns; ++i) {
    uint j = min(CHANNEL_LANES ? column_of(i, 0) : column_of(0, i), gemm_m - 1);
    uint c = j / (KH * KW), r = j % (KH * KW);
    x_at[i] = c * src_plane + (r / KW) * dilation_h * src_w + (r % KW) * dilation_w;
  }
  // The dy plane of each channel read, from the windows' first (past the last: the last, unstored).
  uint dy_at[kChannels];
  [[unroll]] for (uint i = 0; i < kChannels; ++i) {
    uint n = CHANNEL_LANES ? channel_of(0, i) : channel_of(i, 0);
    dy_at[i] = (min(n, out_channels - 1) - channel0) * out_plane;
  }

  // dW[n·M + j]; a split's partials sit split_stride further on.
  const uint base = SPLIT ? split * split_stride : 0;
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint n = channel_of(r, t), j = column_of(r, t);
      acc[r][t] = !first && n < out_channels && j < gemm_m ? sums_so_far(base + n * gemm_m + j) : 0.0;
    }
  }

  uint image = k_begin / out_plane, p = k_begin % out_plane;
  uint oh = p / out_w, ow = p % out_w;
  uint w = 2 * (image - image0);
  uint dy_delta = ((image * out_channels + channel0) * out_plane) & 3u;
  uint x_delta = (image * in_channels * src_plane) & 3u;
  for (uint k = k_begin; k < k_end;) {
    const uint at = x_delta + oh * stride_h * src_w + ow * stride_w;
    const uint dy_p = dy_delta + oh * out_w + ow;
    // Without CHANNEL_LANES the x values are the lane's own and the dy values the same for every
    // lane; with it, the other way round.
    float vx[kColumns], vdy[kChannels];
    [[unroll]] for (uint i = 0; i < kColumns; ++i) vx[i] = load(w + 1, x_at[i] + at);
    [[unroll]] for (uint i = 0; i < kChannels; ++i) vdy[i] = load(w, dy_at[i] + dy_p);
    accumulate(vx, vdy);
    // SLIDE: the rest of this row's positions in the split, from the taps of the one before.
    const uint run = SLIDE ? min(out_w - ow, k_end - k) : 1;
    for (uint q = 1; q < run; ++q) {
      [[unroll]] for (uint i = 0; i < kColumns; ++i)
        vx[i] = i % KW == KW - 1 ? load(w + 1, x_at[i] + at + q) : vx[min(i + 1, kColumns - 1)];
      [[unroll]] for (uint i = 0; i < kChannels; ++i) vdy[i] = load(w, dy_at[i] + dy_p + q);
      accumulate(vx, vdy);
    }
    k += run;
    ow += run;
    if (ow == out_w) {
      ow = 0;
      if (++oh == out_h) {
        oh = 0;
        ++image;
        w += 2;
        dy_delta = ((image * out_channels + channel0) * out_plane) & 3u;
        x_delta = (image * in_channels * src_plane) & 3u;
      }
    }
  }

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint n = channel_of(r, t), j = column_of(r, t);
      if (n >= out_channels || j >= gemm_m) continue;
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
