// Shared head of one-dimensional kernels: workgroup size from specialization constant 0, and the
// flat index of a grid folded into x and y (see grid_1d in lib/ops/launch.hpp).
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

uint global_index() {
  return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

// Uniform loads go first. A kernel reads the values that are the same for every invocation (a step
// count, a learning rate, a guard flag: storage-buffer loads at a constant or push-constant offset)
// at the top of main(), before any invocation may have returned and outside branches and loops:
// there llvmpipe (lavapipe) loads them once and broadcasts; after an early return it loads them
// lane by lane, which cost dropout a fifth of its time (docs/performance-notes.md, Change 34).
