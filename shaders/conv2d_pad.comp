#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// The source of conv2d_packed.comp, zero-padded so that its gathers need no bounds checks:
//   padded[plane, r, c] = source[plane, r - top, c - left] inside the source, else 0
// for planes (N·C) of src_h x src_w into planes of padded_h x padded_w (rows and columns past
// the source's are cropped where the kernel never reads them). One invocation a padded row.
// VKT_WINDOWS (CPU devices, padded rows of whole fours; lib/ops/conv2d_packed.cpp): the source
// read through uniform-buffer windows (plane_windows in lib/ops/launch.hpp: workgroup x is the
// plane in window y, whose invocations stride over its quads), four padded floats stored at once.
layout(std430, binding = 0) readonly buffer Source { float source[]; };
layout(std430, binding = 1) writeonly buffer Padded { float padded[]; };
layout(std430, binding = 1) writeonly buffer Padded4 { vec4 padded4[]; };
layout(push_constant) uniform Push {
  uint planes;  // N·C
  uint src_h, src_w, padded_h, padded_w;
  int top, left;
  uint per_window, plane0;  // the windowed variant's; 0 otherwise
};

#ifdef VKT_WINDOWS
#define VKT_WINDOW_BINDING 2
#include "plane_position.glsl"
#include "uniform_windows.glsl"
layout(std140, binding = VKT_WINDOW_BINDING) uniform Window {
  vec4 v[kWindowVec4s];
} windows[kWindows];

void main() {
  const uint w = gl_WorkGroupID.y, local_plane = w * per_window + gl_WorkGroupID.x;
  if (plane0 + local_plane >= planes) return;
  const uint src_plane = src_h * src_w;
  // Window w starts on the 16 bytes at or before its first plane.
  const uint base = ((plane0 + w * per_window) * src_plane & 3u) + gl_WorkGroupID.x * src_plane;
  const uint quads = padded_w / 4u, plane_quads = padded_h * quads;
  for (uint q = gl_LocalInvocationID.x; q < plane_quads; q += gl_WorkGroupSize.x) {
    const ivec2 at = plane_position(q, quads);  // (row, quad)
    const int r = at.x - top;
    const bool row_inside = r >= 0 && r < int(src_h);
    vec4 v;
    for (int k = 0; k < 4; ++k) {
      const int s = 4 * at.y + k - left;
      const bool inside = row_inside && s >= 0 && s < int(src_w);
      const uint i = inside ? base + uint(r) * src_w + uint(s) : base;
      const float f = windows[w].v[i >> 2u][i & 3u];
      v[k] = inside ? f : 0.0;
    }
    padded4[local_plane * plane_quads + q] = v;
  }
}
#else
void main() {
  const uint i = global_index();
  if (i >= planes * padded_h) return;
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
#endif
