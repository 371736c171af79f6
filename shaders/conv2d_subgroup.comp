#version 450
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_ballot : enable
#extension GL_EXT_control_flow_attributes : enable
// conv2d forward (MODE 0) and backward-data (MODE 1) as an implicit GEMM in registers, per group
// (workgroup z) — the variant of conv2d.comp without shared memory, for CPU devices (see
// matmul_subgroup.comp for why). With P = N·dst_h·dst_w result positions:
//   forward:  y  (Cout/g, P) = W (Cout/g, Cin/g·kH·kW)            · im2col(x)
//   backward: dx (Cin/g, P)  = Wᵀ (Cin/g, Cout/g·kH·kW)           · col2im-gather(dy)
// A workgroup is one subgroup of SG lanes and owns TM result channels x SG·TN positions. Lane l
// owns positions p0 + l + SG·t (t < TN) and gathers their source values itself (zero outside the
// image and, backward, where the stride skips the position); the weights of channels
// c0 + l + SG·q are loaded by lane l and reach every lane by subgroupBroadcast. Per step of the
// reduction (kc, kh, kw): TN gathers + TM/SG weight loads for TM·TN fmas per lane. Positions and
// channels past the edges are clamped for loading and not stored.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;  // SG = the subgroup size
layout(constant_id = 1) const uint TM = 16;  // result channels per workgroup, a multiple of SG
layout(constant_id = 2) const uint TN = 4;   // positions per lane
layout(constant_id = 3) const uint MODE = 0;  // 0 forward, 1 backward-data
layout(constant_id = 4) const bool HAS_BIAS = false;
// Backward-data with stride 1: no division or remainder by the stride (integer division is a
// scalar loop on CPU devices).
layout(constant_id = 5) const bool UNIT_STRIDE = false;

layout(std430, binding = 0) readonly buffer Source { float source[]; };  // x or dy, (N, C, H, W)
layout(std430, binding = 1) readonly buffer Weight { float weight[]; };  // (Cout, Cin/g, kH, kW)
layout(std430, binding = 2) writeonly buffer Result { float result[]; };  // y or dx, (N, C, H, W)
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };      // (Cout,)
// The layout of conv2d.comp's push constants (lib/ops/conv2d.cpp fills both); step_* are unused.
layout(push_constant) uniform Push {
  uint src_channels, src_h, src_w;  // the gathered tensor: x (forward) or dy (backward)
  uint dst_channels, dst_h, dst_w;  // the result: y (forward) or dx (backward)
  uint gemm_m, gemm_n, gemm_k;      // M = P positions, N = dst channels/g, K = src channels/g·kH·kW
  uint kernel_h, kernel_w;
  uint stride_h, stride_w;
  int pad_h, pad_w;
  uint dilation_h, dilation_w;
  uint step_c, step_h, step_w;
};

const uint SG = gl_WorkGroupSize.x;
const uint kRowLoads = TM / SG;

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint group = gl_WorkGroupID.z;
  // Position tiles run along x, folded into y past the x limit: y = channel tile + tiles · fold.
  const uint channel_tiles = (gemm_n + TM - 1) / TM;
  const uint p0 = (gl_WorkGroupID.x + gl_NumWorkGroups.x * (gl_WorkGroupID.y / channel_tiles)) *
                  (SG * TN);
  const uint c0 = (gl_WorkGroupID.y % channel_tiles) * TM;
  if (p0 >= gemm_m) return;  // the fold's last row of tiles may overhang; uniform per workgroup
  const uint taps = kernel_h * kernel_w;
  const uint src_group_channels = gemm_k / taps;
  const uint src_plane = src_h * src_w, dst_plane = dst_h * dst_w;

  // This lane's positions: where their gather starts and where their results go.
  uint src_base[TN], dst_base[TN];
  int row0[TN], col0[TN];
  [[unroll]] for (uint t = 0; t < TN; ++t) {
    uint p = min(p0 + lane + SG * t, gemm_m - 1);
    uint image = p / dst_plane, position = p % dst_plane;
    int row = int(position / dst_w), col = int(position % dst_w);
    src_base[t] = (image * src_channels + group * src_group_channels) * src_plane;
    dst_base[t] = image * dst_channels * dst_plane + position;
    // Forward: input row of tap 0. Backward: the padded row that taps subtract from.
    row0[t] = MODE == 0 ? row * int(stride_h) - pad_h : row + pad_h;
    col0[t] = MODE == 0 ? col * int(stride_w) - pad_w : col + pad_w;
  }
  // The weights this lane loads: channel c0 + lane + SG·q, as the start of its (kc, tap) walk.
  // Forward W[g·Cout/g + c, kc, tap]; backward W[g·Cout/g + kc, c, tap].
  uint weight_base[kRowLoads];
  [[unroll]] for (uint q = 0; q < kRowLoads; ++q) {
    uint c = min(c0 + lane + SG * q, gemm_n - 1);
    weight_base[q] = MODE == 0 ? (group * gemm_n + c) * gemm_k
                               : (group * src_group_channels * gemm_n + c) * taps;
  }
  const uint weight_channel_step = MODE == 0 ? taps : gemm_n * taps;

  float acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; ++r)
    [[unroll]] for (uint t = 0; t < TN; ++t) acc[r][t] = 0.0;

  for (uint kc = 0; kc < src_group_channels; ++kc) {
    const uint channel_offset = kc * src_plane;
    for (uint kh = 0; kh < kernel_h; ++kh) {
      const int h = int(kh * dilation_h);
      for (uint kw = 0; kw < kernel_w; ++kw) {
        const int w = int(kw * dilation_w);
        const uint tap = kc * weight_channel_step + kh * kernel_w + kw;
        float va[kRowLoads], vb[TN];
        [[unroll]] for (uint q = 0; q < kRowLoads; ++q) va[q] = weight[weight_base[q] + tap];
        [[unroll]] for (uint t = 0; t < TN; ++t) {
          int ih, iw;
          bool valid;
          if (MODE == 0) {
            ih = row0[t] + h;
            iw = col0[t] + w;
            valid = ih >= 0 && ih < int(src_h) && iw >= 0 && iw < int(src_w);
          } else {
            // dx[row, col] receives dy[oh, ow] through tap (h, w) when row + pad = oh·stride + h.
            int th = row0[t] - h, tw = col0[t] - w;
            if (UNIT_STRIDE) {
              ih = th;
              iw = tw;
              valid = th >= 0 && tw >= 0 && ih < int(src_h) && iw < int(src_w);
            } else {
              ih = th / int(stride_h);
              iw = tw / int(stride_w);
              valid = th >= 0 && tw >= 0 && th % int(stride_h) == 0 && tw % int(stride_w) == 0 &&
                      ih < int(src_h) && iw < int(src_w);
            }
          }
          uint index = src_base[t] + channel_offset + uint(clamp(ih, 0, int(src_h) - 1)) * src_w +
                       uint(clamp(iw, 0, int(src_w) - 1));
          float v = source[index];
          vb[t] = valid ? v : 0.0;
        }
        [[unroll]] for (uint q = 0; q < kRowLoads; ++q) {
          [[unroll]] for (uint s = 0; s < SG; ++s) {
            float w_value = subgroupBroadcast(va[q], s);
            [[unroll]] for (uint t = 0; t < TN; ++t)
              acc[q * SG + s][t] = fma(w_value, vb[t], acc[q * SG + s][t]);
          }
        }
      }
    }
  }

  [[unroll]] for (uint r = 0; r < TM; ++r) {
    uint c = c0 + r;
    if (c >= gemm_n) break;
    uint channel = group * gemm_n + c;
    float b = HAS_BIAS ? bias[channel] : 0.0;
    [[unroll]] for (uint t = 0; t < TN; ++t) {
      if (p0 + lane + SG * t >= gemm_m) continue;
      result[dst_base[t] + channel * dst_plane] = acc[r][t] + b;
    }
  }
}
