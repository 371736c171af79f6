// Shared head of the max-pooling kernels. The grid covers the positions of a plane along x and the
// planes (N·C of them, TY per workgroup) along y and z, so no invocation divides by the tensor's
// sizes; the window is specialization constants, so the divisions by the stride fold into shifts.
// On CPU drivers a per-lane integer division is a scalar loop of 8: this head is what made the
// kernels several times faster there (docs/performance-notes.md).
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y_id = 7, local_size_z = 1) in;
layout(constant_id = 1) const int KERNEL_H = 2;
layout(constant_id = 2) const int KERNEL_W = 2;
layout(constant_id = 3) const int STRIDE_H = 2;
layout(constant_id = 4) const int STRIDE_W = 2;
layout(constant_id = 5) const int PAD_H = 0;
layout(constant_id = 6) const int PAD_W = 0;

layout(push_constant) uniform Push {
  uint planes;  // N·C
  uint in_h, in_w, out_h, out_w;
  uint per_window, plane0;  // the windowed variants (pool_windows below); 0 otherwise
};

// The invocation's plane: TY planes per workgroup, the workgroups folded into y and z.
uint plane_index() {
  return (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y) * gl_WorkGroupSize.y +
         gl_LocalInvocationID.y;
}

#include "plane_position.glsl"

#ifdef VKT_WINDOWS
// The windowed variants (<shader>_windows, on CPU devices: lib/ops/pool.cpp plans them). The
// tensors they read hold planes of a multiple of four floats and are read through uniform-buffer
// windows (llvmpipe loads those with a branch-free gather where a storage-buffer load is a loop over
// the lanes; docs/performance-notes.md, Change 31): window w of a tensor holds its planes
// [plane0 + w·per_window, + per_window), workgroup y is the window (the same index for all lanes,
// as a uniform-buffer array index must be) and workgroup x the plane in it, whose invocations
// stride over its positions. The outputs bind only the dispatch's planes, from plane0 on.
#include "uniform_windows.glsl"
layout(std140, binding = VKT_WINDOW_BINDING) uniform Window {
  vec4 v[kWindowVec4s];
} windows[kWindows];

// Float i of window w.
float window_float(uint w, uint i) { return windows[w].v[i >> 2u][i & 3u]; }

// Where this workgroup's plane starts in window w, for planes of `plane_floats` floats: the window
// starts on the 16 bytes at or before its first plane (plane_windows, lib/ops/launch.hpp).
uint window_base(uint w, uint plane_floats) {
  return ((plane0 + w * per_window) * plane_floats & 3u) + gl_WorkGroupID.x * plane_floats;
}

// This workgroup's plane, and its plane in the dispatch's; false past the last plane.
bool window_plane(out uint plane, out uint local_plane) {
  local_plane = gl_WorkGroupID.y * per_window + gl_WorkGroupID.x;
  plane = plane0 + local_plane;
  return plane < planes;
}
#endif
