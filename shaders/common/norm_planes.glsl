// Shared head of the elementwise normalization kernels (norm_apply, norm_backward_apply).
//
// The tensor is seen as `planes` planes of plane_len contiguous elements, element i = p·plane_len + o,
// with plane_len chosen (norm_planes in lib/ops/norm_kernels.cpp) so that the statistics row and the
// affine channel are each either constant over a plane, (p / div) % mod, or the offset o itself
// (*_PER_OFFSET). A workgroup covers TILE_X offsets × (WG / TILE_X) planes, and each invocation `run`
// offsets TILE_X apart within one plane: its indices and its plane's statistics are found once, not
// per element, and neighbouring invocations still touch neighbouring addresses.
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

// The plane and the first offset of this invocation; false past the last plane. Plane tiles are
// folded into y and z (more than 65535 of them).
bool norm_plane_start(uint tile_x, uint planes, uint run, out uint plane, out uint first) {
  uint t = gl_LocalInvocationIndex;
  uint tile = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  plane = tile * (gl_WorkGroupSize.x / tile_x) + t / tile_x;
  first = gl_WorkGroupID.x * tile_x * run + t % tile_x;
  return plane < planes;
}
