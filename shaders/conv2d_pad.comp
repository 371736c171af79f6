#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// The source of conv2d_packed.comp, zero-padded so that its gathers need no bounds checks:
//   padded[plane, r, c] = source[plane, r - top, c - left] inside the source, else 0
// for planes (N·C) of src_h x src_w into planes of padded_h x padded_w (rows and columns past
// the source's are cropped where the kernel never reads them). One invocation a padded row.
layout(std430, binding = 0) readonly buffer Source { float source[]; };
layout(std430, binding = 1) writeonly buffer Padded { float padded[]; };
layout(push_constant) uniform Push {
  uint rows;  // planes · padded_h
  uint src_h, src_w, padded_h, padded_w;
  int top, left;
};

void main() {
  const uint i = global_index();
  if (i >= rows) return;
  const uint plane = i / padded_h;
  const int r = int(i % padded_h) - top;
  const uint out_row = i * padded_w;
  const bool inside = r >= 0 && r < int(src_h);
  const uint in_row = (plane * src_h + uint(max(r, 0))) * src_w;
  for (uint c = 0; c < padded_w; ++c) {
    const int s = int(c) - left;
    padded[out_row + c] = inside && s >= 0 && s < int(src_w) ? source[in_row + uint(s)] : 0.0;
  }
}
