#version 450
#extension GL_GOOGLE_include_directive : enable
#define VKT_WINDOW_BINDING 3
#include "pool_planes.glsl"
// max_pool2d forward: one invocation per output element. Padding acts as −inf, so only the window's
// part inside the image is read; the index is the flat h·W + w of the first maximum in row-major
// window order, and a NaN wins over numbers (as PyTorch's CPU kernel: v > best || isnan(v)).
// VKT_WINDOWS (pool_planes.glsl): x read through 14 windows; OUT4 (output planes of whole fours on
// 16 bytes): four consecutive outputs an invocation, stored as one vec4 and one ivec4. PAIRS (with
// OUT4: 2x2 windows, stride 2, no padding, W a multiple of 4 and x on 16 bytes): the four are two
// pairs of neighbours in a row, each pair's window two vec4s of x, no bounds to test.
layout(constant_id = 8) const bool OUT4 = false;
layout(constant_id = 9) const bool PAIRS = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };               // (N, C, H, W)
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };              // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };    // (N, C, Ho, Wo)
layout(std430, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 2) writeonly buffer Indices4 { ivec4 indices4[]; };

// Float i of the plane that starts at float `base` (of window w in the windowed variant).
float plane_float(uint w, uint base, uint i) {
#ifdef VKT_WINDOWS
  return window_float(w, base + i);
#else
  return x[base + i];
#endif
}

// Four floats of the plane from float i (a multiple of 4; base too).
vec4 plane_quad(uint w, uint base, uint i) {
#ifdef VKT_WINDOWS
  return windows[w].v[(base + i) >> 2u];
#else
  return x4[(base + i) >> 2u];
#endif
}

// One step of the row-major scan: v at `index` replaces the best so far if greater or NaN.
void take(float v, int index, inout float best, inout int best_index) {
  if (v > best || isnan(v)) {
    best = v;
    best_index = index;
  }
}

// PAIRS: the 2x2 windows of outputs (row, 2q) and (row, 2q + 1), pair q of the plane's row.
void pool_pair(uint w, uint base, uint pair, inout vec4 best, inout ivec4 index, uint k) {
  ivec2 o = plane_position(pair, out_w / 2u);
  int at = 2 * o.x * int(in_w) + 4 * o.y;  // the pair's top-left input
  vec4 top = plane_quad(w, base, uint(at)), bottom = plane_quad(w, base, uint(at) + in_w);
  for (int j = 0; j < 2; ++j) {
    float b = uintBitsToFloat(0xff800000u);  // −inf
    int i = at + 2 * j;
    take(top[2 * j], at + 2 * j, b, i);
    take(top[2 * j + 1], at + 2 * j + 1, b, i);
    take(bottom[2 * j], at + int(in_w) + 2 * j, b, i);
    take(bottom[2 * j + 1], at + int(in_w) + 2 * j + 1, b, i);
    best[k + uint(j)] = b;
    index[k + uint(j)] = i;
  }
}

// The maximum over output position p's window and its flat index in the plane.
void pool(uint w, uint base, uint p, out float best, out int best_index) {
  ivec2 o = plane_position(p, out_w);
  int h0 = o.x * STRIDE_H - PAD_H, w0 = o.y * STRIDE_W - PAD_W;
  int h_begin = max(h0, 0), h_end = min(h0 + KERNEL_H, int(in_h));
  int w_begin = max(w0, 0), w_end = min(w0 + KERNEL_W, int(in_w));
  best = uintBitsToFloat(0xff800000u);  // −inf
  best_index = h_begin * int(in_w) + w_begin;
  for (int h = h_begin; h < h_end; ++h)
    for (int c = w_begin; c < w_end; ++c) {
      int index = h * int(in_w) + c;
      float v = plane_float(w, base, uint(index));
      take(v, index, best, best_index);
    }
}

// Positions [p, p + (OUT4 ? 4 : 1)) of the plane whose input starts at `base`, stored from output
// element `out`.
void pool_positions(uint w, uint base, uint p, uint out_index) {
  if (OUT4) {
    vec4 best;
    ivec4 index;
    if (PAIRS) {
      pool_pair(w, base, p / 2u, best, index, 0u);
      pool_pair(w, base, p / 2u + 1u, best, index, 2u);
    } else {
      for (uint k = 0u; k < 4u; ++k) pool(w, base, p + k, best[k], index[k]);
    }
    y4[out_index / 4u] = best;
    indices4[out_index / 4u] = index;
  } else {
    float best;
    int index;
    pool(w, base, p, best, index);
    y[out_index] = best;
    indices[out_index] = index;
  }
}

void main() {
  const uint out_plane = out_h * out_w, step = OUT4 ? 4u : 1u;
#ifdef VKT_WINDOWS
  uint plane, local_plane;
  if (!window_plane(plane, local_plane)) return;
  const uint w = gl_WorkGroupID.y, base = window_base(w, in_h * in_w);
  for (uint p = step * gl_LocalInvocationID.x; p < out_plane; p += step * gl_WorkGroupSize.x)
    pool_positions(w, base, p, local_plane * out_plane + p);
#else
  uint plane = plane_index(), p = step * gl_GlobalInvocationID.x;
  if (plane >= planes || p >= out_plane) return;
  pool_positions(0u, plane * in_h * in_w, p, plane * out_plane + p);
#endif
}
