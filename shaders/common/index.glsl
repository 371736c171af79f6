// Shared head of one-dimensional kernels: workgroup size from specialization constant 0, and the
// flat index of a grid folded into x and y (see grid_1d in lib/ops/launch.hpp).
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

uint global_index() {
  return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}
