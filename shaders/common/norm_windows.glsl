// Shared head of the windowed normalization reductions (norm_stats_windows,
// norm_backward_reduce_windows): the reduction rows of norm_common.glsl read through uniform-buffer
// windows, which llvmpipe loads with a branch-free gather where a storage-buffer load is a loop over
// the lanes (docs/performance-notes.md, Change 30). lib/ops/norm_kernels.cpp plans them.
//
// Runs are whole fours of floats (seg4 vec4s) and a window holds run j of a block of rows:
// rows [row0, row0 + gl_NumWorkGroups.x) of run j are contiguous, window-sized or less. A chunk is
// runs_per_chunk consecutive runs of one row. A dispatch covers one row block and chunk slots
// gl_WorkGroupID.y; slot s's run k of a tensor is its window s·runs_per_chunk + k, the same for all
// lanes, as a uniform-buffer array index must be. Workgroup x is the row in the block.
#extension GL_GOOGLE_include_directive : enable
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

#include "uniform_windows.glsl"

layout(push_constant) uniform Push {
  uint rows, segments, seg4;     // the reduction rows (seg4 = seg_len / 4)
  uint runs_per_chunk, chunks;   // chunks = ceil(segments / runs_per_chunk)
  uint row0, run0;               // the dispatch's first row and the first run of its slot 0
  float eps;
};

// This workgroup's row, first run and number of runs; false past the last (uniform over it).
bool norm_window_chunk(out uint row, out uint first_run, out uint runs) {
  row = row0 + gl_WorkGroupID.x;
  first_run = run0 + gl_WorkGroupID.y * runs_per_chunk;
  runs = first_run < segments ? min(runs_per_chunk, segments - first_run) : 0;
  return row < rows && runs > 0;
}
