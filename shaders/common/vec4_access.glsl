// Elementwise kernels that handle four elements per invocation: block b covers [4b, 4b + 4) of
// n. With the VEC4 constant (chosen by the host with vec4_whole(): n is a multiple of 4 and every
// buffer starts on 16 bytes) every block is whole and each buffer moves as one vec4, which CPU
// drivers turn into one per-lane loop instead of four. Without it every block reads clamped
// scalars (the values past n are never stored) and stores only the elements below n. The choice
// is a constant, never a per-block test: CPU drivers run both sides of a divergent branch.
// Each buffer is declared twice on one binding: `float name[]` and `vec4 name4[]`.
#define LOAD4(name, b, n)                                                                    \
  (VEC4 ? name##4[b]                                                                         \
        : vec4(name[min(4u * (b), (n) - 1u)], name[min(4u * (b) + 1u, (n) - 1u)],            \
               name[min(4u * (b) + 2u, (n) - 1u)], name[min(4u * (b) + 3u, (n) - 1u)]))

#define STORE4(name, b, n, v)                                                               \
  if (VEC4) {                                                                               \
    name##4[b] = (v);                                                                       \
  } else {                                                                                  \
    for (uint k_ = 0u; k_ < 4u && 4u * (b) + k_ < (n); ++k_) name[4u * (b) + k_] = (v)[k_]; \
  }
