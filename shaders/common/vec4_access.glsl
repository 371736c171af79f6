// Elementwise kernels that handle four elements per invocation: block b covers [4b, 4b + 4) of
// n. A block is "whole" when it ends inside n and the kernel's buffers start on 16 bytes (the
// VEC4 constant, chosen by the host with vec4_aligned()); then each buffer moves as one vec4,
// which CPU drivers turn into one per-lane loop instead of four. Partial blocks read clamped
// scalars (the values past n are never stored) and store only the elements below n.
// Each buffer is declared twice on one binding: `float name[]` and `vec4 name4[]`.
bool whole_block(uint b, uint n) { return VEC4 && 4u * b + 4u <= n; }

#define LOAD4(name, b, n)                                                                 \
  (whole_block(b, n) ? name##4[b]                                                         \
                     : vec4(name[min(4u * (b), (n) - 1u)], name[min(4u * (b) + 1u, (n) - 1u)], \
                            name[min(4u * (b) + 2u, (n) - 1u)], name[min(4u * (b) + 3u, (n) - 1u)]))

#define STORE4(name, b, n, v)                                                     \
  if (whole_block(b, n)) {                                                        \
    name##4[b] = (v);                                                             \
  } else {                                                                        \
    for (uint k_ = 0u; k_ < 4u && 4u * (b) + k_ < (n); ++k_) name[4u * (b) + k_] = (v)[k_]; \
  }
