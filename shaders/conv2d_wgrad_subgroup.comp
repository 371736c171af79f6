#version 450
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_ballot : enable
#extension GL_EXT_control_flow_attributes : enable
// conv2d backward-weight as an implicit GEMM in registers, per group — the variant of
// conv2d_wgrad.comp without shared memory, for CPU devices (see matmul_subgroup.comp):
//   dW (Cout/g, Cin/g·kH·kW) = dy (Cout/g, P) · im2col(x)ᵀ (P, Cin/g·kH·kW),  P = N·Ho·Wo.
// A workgroup is one subgroup of SG lanes and owns TM output channels x SG·TN weight columns
// (c, kh, kw). Lane l owns columns j0 + l + SG·t and gathers their input values itself (zero
// outside the image); the dy values of channels n0 + l + SG·q are loaded by lane l and reach every
// lane by subgroupBroadcast. The reduction walks the positions p of its split in order, decoded
// once and advanced with carries (the same for every lane).
// Split-K as in conv2d_wgrad.comp, with the same position ranges (slices_per_split positions per
// split here, BK = 1): workgroup z = group + groups·split, partials at result + split·split_stride.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // output channels per workgroup, a multiple of SG
layout(constant_id = 2) const uint TN = 4;   // weight columns per lane
layout(constant_id = 3) const bool SPLIT = false;
layout(constant_id = 4) const bool ACCUMULATE = false;  // dW += result (only without SPLIT)

layout(std430, binding = 0) readonly buffer Grad { float dy[]; };  // (N, Cout, Ho, Wo)
layout(std430, binding = 1) readonly buffer Input { float x[]; };  // (N, Cin, H, W)
layout(std430, binding = 2) buffer Result { float result[]; };    // dW (Cout, Cin/g, kH, kW) or partials
// The layout of conv2d_wgrad.comp's push constants; step_* are unused.
layout(push_constant) uniform Push {
  uint in_channels, in_h, in_w;
  uint out_channels, out_h, out_w;
  uint gemm_m, gemm_n, gemm_k;  // M = Cin/g·kH·kW, N = Cout/g, K = P
  uint kernel_h, kernel_w;
  uint stride_h, stride_w;
  int pad_h, pad_w;
  uint dilation_h, dilation_w;
  uint step_n, step_h, step_w;
  uint groups, slices_per_split, split_stride;  // slices_per_split: positions per split
};

const uint SG = gl_WorkGroupSize.x;
const uint kRowLoads = TM / SG;

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint group = gl_WorkGroupID.z % groups, split = gl_WorkGroupID.z / groups;
  const uint j0 = gl_WorkGroupID.x * (SG * TN), n0 = gl_WorkGroupID.y * TM;
  const uint taps = kernel_h * kernel_w;
  const uint in_group_channels = gemm_m / taps;
  const uint in_plane = in_h * in_w, out_plane = out_h * out_w;

  // This lane's weight columns (c, kh, kw): their channel offset in an image and tap offsets.
  uint x_offset[TN];
  int tap_h[TN], tap_w[TN];
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint j = min(j0 + lane + SG * t, gemm_m - 1);
    uint c = j / taps, r = j % taps;
    x_offset[t] = (group * in_group_channels + c) * in_plane;
    tap_h[t] = int((r / kernel_w) * dilation_h) - pad_h;
    tap_w[t] = int((r % kernel_w) * dilation_w) - pad_w;
  }
  // The dy channels this lane loads.
  uint dy_offset[kRowLoads];
  [[unroll]] for (uint q = 0; q < kRowLoads; ++q)
    dy_offset[q] = (group * gemm_n + min(n0 + lane + SG * q, gemm_n - 1)) * out_plane;

  float acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; ++r)
    [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = 0.0;

  const uint k_begin = split * slices_per_split;
  const uint k_end = min(gemm_k, k_begin + slices_per_split);
  uint image = k_begin / out_plane, oh = (k_begin % out_plane) / out_w, ow = k_begin % out_w;
  for (uint k = k_begin; k < k_end; ++k) {
    const uint dy_base = image * out_channels * out_plane + oh * out_w + ow;
    const uint x_base = image * in_channels * in_plane;
    const int row = int(oh * stride_h), col = int(ow * stride_w);
    float va[kRowLoads], vb[TN];
    [[unroll]] for (uint q = 0; q < kRowLoads; ++q) va[q] = dy[dy_base + dy_offset[q]];
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      int ih = row + tap_h[t], iw = col + tap_w[t];
      bool valid = ih >= 0 && ih < int(in_h) && iw >= 0 && iw < int(in_w);
      uint index = x_base + x_offset[t] + uint(clamp(ih, 0, int(in_h) - 1)) * in_w +
                   uint(clamp(iw, 0, int(in_w) - 1));
      float v = x[index];
      vb[t] = valid ? v : 0.0;
    }
    [[unroll]] for (uint q = 0; q < kRowLoads; ++q) {
      [[unroll]] for (uint s = 0; s < SG; ++s) {
        float dy_value = subgroupBroadcast(va[q], s);
        [[unroll]] for (uint t = 0; t < TN; ++t)
          acc[q * SG + s][t] = fma(vb[t], dy_value, acc[q * SG + s][t]);
      }
    }
    if (++ow == out_w) {
      ow = 0;
      if (++oh == out_h) {
        oh = 0;
        ++image;
      }
    }
  }

  // dW[(g·Cout/g + n)·M + j]; partials of split s sit split_stride further on.
  const uint base = SPLIT ? split * split_stride : 0;
  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint n = n0 + r;
    if (n >= gemm_n) break;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      uint j = j0 + lane + SG * t;
      if (j >= gemm_m) continue;
      uint index = base + (group * gemm_n + n) * gemm_m + j;
      float v = acc[r][t];
      if (!SPLIT && ACCUMULATE) v += result[index];
      result[index] = v;
    }
  }
}
