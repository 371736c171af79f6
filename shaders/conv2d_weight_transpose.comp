#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// The weight of an ungrouped conv2d transposed for conv2d_packed.comp's backward-data pass:
//   transposed[ci, co, tap] = weight[co, ci, tap]   (Cout, Cin, kH·kW) -> (Cin, Cout, kH·kW)
layout(std430, binding = 0) readonly buffer Weight { float weight[]; };
layout(std430, binding = 1) writeonly buffer Transposed { float transposed[]; };
layout(push_constant) uniform Push {
  uint out_channels, in_channels, taps;
};

void main() {
  const uint i = global_index();
  if (i >= out_channels * in_channels * taps) return;
  const uint tap = i % taps, co = i / taps % out_channels, ci = i / (taps * out_channels);
  transposed[i] = weight[(co * in_channels + ci) * taps + tap];
}
