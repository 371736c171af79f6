#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// The weight of an ungrouped conv2d as conv2d_packed.comp reads it: k-major tiles of TM result
// channels, so that one vec4 holds four channels' weights at one k (rows past the last channel
// are 0, computed and never stored):
//   tiles[t, k, r] = W[t·TM + r, k]                  forward:  W (Cout, Cin·kH·kW)
//   tiles[t, k, r] = weight[k / taps, t·TM + r, k % taps]   backward-data: Wᵀ (Cin, Cout·kH·kW)
// for weight (Cout, Cin, kH, kW), k < gemm_k. One invocation a packed float.
layout(std430, binding = 0) readonly buffer Weight { float weight[]; };
layout(std430, binding = 1) writeonly buffer Tiles { float tiles[]; };
layout(push_constant) uniform Push {
  uint count;     // tiles · gemm_k · tm
  uint channels;  // result channels: Cout forward, Cin backward-data
  uint gemm_k;    // forward Cin·taps, backward Cout·taps
  uint tm, taps, mode;
};

void main() {
  const uint i = global_index();
  if (i >= count) return;
  const uint r = i % tm, k = i / tm % gemm_k, c = i / (tm * gemm_k) * tm + r;
  if (c >= channels) {
    tiles[i] = 0.0;
    return;
  }
  tiles[i] = mode == 0 ? weight[c * gemm_k + k]
                       : weight[((k / taps) * channels + c) * taps + k % taps];
}
