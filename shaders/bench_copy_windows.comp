#version 450
#extension GL_GOOGLE_include_directive : enable
// Copy bandwidth through uniform-buffer windows (vktrain-bench's memory ceiling, with bench_copy):
// the source is read through kWindows windows of 64 KiB (lib/core/scheduler_impl.hpp), the
// destination written as a storage buffer, every byte read once and written once. One dispatch
// copies kWindows · 64 KiB from vec4 `first` on; workgroup y reads window y, so the window index is
// the same for all lanes, as a uniform-buffer array index must be. llvmpipe reads a uniform buffer
// at a non-uniform offset with a branch-free gather and a storage buffer with a loop over the lanes
// (docs/performance-notes.md, 2026-12-03), so on some CPU hosts this is the faster copy.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

#include "uniform_windows.glsl"

layout(std430, binding = 0) writeonly buffer Dst { vec4 dst[]; };
layout(std140, binding = 1) uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows];
layout(push_constant) uniform Push { uint first, count; };  // vec4s: the dispatch's first, dst's

void main() {
  const uint w = gl_WorkGroupID.y;
  const uint lanes = gl_WorkGroupSize.x * gl_NumWorkGroups.x;
  for (uint i = gl_GlobalInvocationID.x; i < kWindowVec4s; i += lanes) {
    const uint at = first + w * kWindowVec4s + i;
    if (at < count) dst[at] = windows[w].v[i];
  }
}
