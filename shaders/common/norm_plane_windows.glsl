// Shared head of the windowed normalization kernels over planes (norm_apply_windows,
// norm_backward_apply_windows): norm_planes.glsl's planes of plane_len vec4s whose statistics row
// and channel are constant over a plane, read through uniform-buffer windows (llvmpipe loads them
// with a branch-free gather where a storage-buffer load is a loop over the lanes;
// docs/performance-notes.md, Change 31) and written as storage buffers.
// Window w of a tensor holds planes [plane0 + w·per_window, + per_window), so workgroup y is the
// window (the same index for all lanes, as a uniform-buffer array index must be) and workgroup x
// the plane in it; the invocations stride over the plane's vec4s. The output binds only the
// dispatch's planes, from plane0 on. lib/ops/norm_kernels.cpp plans the dispatches.
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

#include "uniform_windows.glsl"

layout(push_constant) uniform Push {
  uint planes, plane_len, per_window, plane0, stat_div, stat_mod, channel_div, channel_mod;
  float count;  // norm_backward_apply_windows: elements per statistics row
};

// This workgroup's plane and its first vec4 in its window; false past the last plane.
bool norm_window_plane(out uint plane, out uint local) {
  plane = plane0 + gl_WorkGroupID.y * per_window + gl_WorkGroupID.x;
  local = gl_WorkGroupID.x * plane_len;
  return plane < planes;
}
