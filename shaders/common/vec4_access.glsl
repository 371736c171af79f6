// Elementwise kernels that handle four elements per invocation: block b covers [4b, 4b + 4) of
// n. With the VEC4 constant (chosen by the host with vec4_whole(): n is a multiple of 4 and every
// buffer starts on 16 bytes) every block is whole and each buffer moves as one vec4, which CPU
// drivers turn into one per-lane loop instead of four. Without it every block reads clamped
// scalars (the values past n are never stored) and stores only the elements below n. The choice
// is a constant, never a per-block test: CPU drivers run both sides of a divergent branch.
// Each buffer is declared twice on one binding: `float name[]` and `vec4 name4[]`.
#ifndef VKT_WINDOWS
#define LOAD4(name, b, n)                                                                    \
  (VEC4 ? name##4[b]                                                                         \
        : vec4(name[min(4u * (b), (n) - 1u)], name[min(4u * (b) + 1u, (n) - 1u)],            \
               name[min(4u * (b) + 2u, (n) - 1u)], name[min(4u * (b) + 3u, (n) - 1u)]))
#else
// The windowed variant (<shader>_windows, this file compiled with VKT_WINDOWS defined; the host
// takes it on CPU devices with VEC4 set: dispatch_fours, lib/ops/launch.cpp). The tensors
// the shader reads are read through uniform-buffer windows of 64 KiB, which llvmpipe loads with a
// branch-free gather where a storage-buffer load is a loop over the lanes (docs/performance-notes.md,
// Change 32). Before including this file the shader defines VKT_WINDOW_BINDING (the binding after
// its storage buffers), VKT_WINDOWED (how many tensors it reads so) and, for every tensor it
// LOAD4s, a constant int <name>_window: its slot, 0 .. VKT_WINDOWED − 1, or −1 for a tensor read as
// a storage buffer still (an optional state few calls use). Slot s has windows
// [s·P, s·P + P), P = kWindows / VKT_WINDOWED; a dispatch covers P windows of blocks from its first, every
// tensor is bound from there, workgroup y is the window (so its index is the same for all lanes)
// and global_index() = y·4096 + the block in the window.
#include "uniform_windows.glsl"
const uint kWindowsPerSlot = kWindows / VKT_WINDOWED;
layout(std140, binding = VKT_WINDOW_BINDING) uniform Window {
  vec4 v[kWindowVec4s];
} windows[kWindowsPerSlot * VKT_WINDOWED];
#define LOAD4(name, b, n)                                                                  \
  (name##_window < 0 ? name##4[b]                                                          \
                     : windows[uint(max(name##_window, 0)) * kWindowsPerSlot + gl_WorkGroupID.y] \
                           .v[(b) - gl_WorkGroupID.y * kWindowVec4s])
#endif

#define STORE4(name, b, n, v)                                                               \
  if (VEC4) {                                                                               \
    name##4[b] = (v);                                                                       \
  } else {                                                                                  \
    for (uint k_ = 0u; k_ < 4u && 4u * (b) + k_ < (n); ++k_) name[4u * (b) + k_] = (v)[k_]; \
  }
