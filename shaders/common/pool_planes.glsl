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
};

// The invocation's plane: TY planes per workgroup, the workgroups folded into y and z.
uint plane_index() {
  return (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y) * gl_WorkGroupSize.y +
         gl_LocalInvocationID.y;
}

// (row, column) of position p of a plane `width` wide: a float quotient, then one correction
// step, exact for p < 2^24 (the host checks plane sizes) and vectorized where integer division
// is not.
ivec2 plane_position(uint p, uint width) {
  int row = int((float(p) + 0.5) / float(width));
  int column = int(p) - row * int(width);
  if (column < 0) {
    row -= 1;
    column += int(width);
  } else if (column >= int(width)) {
    row += 1;
    column -= int(width);
  }
  return ivec2(row, column);
}
