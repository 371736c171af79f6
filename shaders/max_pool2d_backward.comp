#version 450
#extension GL_GOOGLE_include_directive : enable
#define VKT_WINDOW_BINDING 3
#include "pool_planes.glsl"
// max_pool2d backward. Every dx element is written once (zero where no window picked it), in a fixed
// order: no atomics, no separate zero fill.
// - Overlapping windows (stride < kernel): one invocation per input element, summing dy over the
//   windows that cover it and whose recorded argmax it is.
// - CELLS (stride >= kernel, as in the usual 2x2/2): one invocation per window, writing the cell of
//   inputs it owns — rows [o·stride − pad, (o+1)·stride − pad) clipped to the image, the last cell
//   to the image's end — dy where the argmax is and zero elsewhere: one read of dy and of the index
//   per window instead of one per input.
// VKT_WINDOWS (pool_planes.glsl; CELLS only): dy in windows 0..6, indices in 7..13. PAIRS (kernel
// and stride 2 along W, no padding there, W a multiple of 4; dx on 16 bytes): an invocation takes
// two neighbouring windows of a row, whose cells are four floats of each of their rows, stored as
// vec4s.
layout(constant_id = 8) const bool CELLS = false;
layout(constant_id = 9) const bool PAIRS = false;
layout(std430, binding = 0) readonly buffer Grad { float dy[]; };         // (N, C, Ho, Wo)
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };   // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer InputGrad { float dx[]; };   // (N, C, H, W)
layout(std430, binding = 2) writeonly buffer InputGrad4 { vec4 dx4[]; };

// Windows o with o·stride − pad ≤ v ≤ o·stride − pad + kernel − 1, clipped to [0, count).
ivec2 covering(int v, int kernel, int stride, int pad, int count) {
  int low = v + pad - kernel + 1;
  int first = low <= 0 ? 0 : (low + stride - 1) / stride;
  int last = min((v + pad) / stride + 1, count);
  return ivec2(first, last);
}

// The inputs [begin, end) window o owns along one axis (stride >= kernel).
ivec2 cell(int o, int stride, int pad, int count, int size) {
  int begin = max(o * stride - pad, 0);
  int end = o == count - 1 ? size : min((o + 1) * stride - pad, size);
  return ivec2(begin, end);
}

void gather(uint plane, uint p) {
  ivec2 v = plane_position(p, in_w);
  ivec2 rows = covering(v.x, KERNEL_H, STRIDE_H, PAD_H, int(out_h));
  ivec2 cols = covering(v.y, KERNEL_W, STRIDE_W, PAD_W, int(out_w));
  uint base = plane * out_h * out_w;
  float sum = 0.0;
  for (int oh = rows.x; oh < rows.y; ++oh)
    for (int ow = cols.x; ow < cols.y; ++ow) {
      uint o = base + uint(oh) * out_w + uint(ow);
      if (indices[o] == int(p)) sum += dy[o];
    }
  dx[plane * in_h * in_w + p] = sum;
}

// dy and the index of output element o (o in the plane's window memory when windowed).
float grad_at(uint w, uint o) {
#ifdef VKT_WINDOWS
  return window_float(w, o);
#else
  return dy[o];
#endif
}
int index_at(uint w, uint o) {
#ifdef VKT_WINDOWS
  return floatBitsToInt(window_float(w + kWindows / 2u, o));
#else
  return indices[o];
#endif
}

// Window p of a plane (its dy and index at element o) writes its cell of dx, from element `base`.
void scatter(uint w, uint o, uint p, uint base) {
  ivec2 position = plane_position(p, out_w);
  float g = grad_at(w, o);
  int picked = index_at(w, o);
  ivec2 rows = cell(position.x, STRIDE_H, PAD_H, int(out_h), int(in_h));
  ivec2 cols = cell(position.y, STRIDE_W, PAD_W, int(out_w), int(in_w));
  for (int h = rows.x; h < rows.y; ++h)
    for (int c = cols.x; c < cols.y; ++c) {
      int at = h * int(in_w) + c;
      dx[base + uint(at)] = at == picked ? g : 0.0;
    }
}

// PAIRS: windows (row, 2q) and (row, 2q + 1), q-th pair p of the plane (dy and indices at o, o + 1).
void scatter_pair(uint w, uint o, uint p, uint base) {
  ivec2 position = plane_position(p, out_w / 2u);
  vec2 g = vec2(grad_at(w, o), grad_at(w, o + 1u));
  ivec2 picked = ivec2(index_at(w, o), index_at(w, o + 1u));
  ivec2 rows = cell(position.x, STRIDE_H, PAD_H, int(out_h), int(in_h));
  for (int h = rows.x; h < rows.y; ++h) {
    int at = h * int(in_w) + 4 * position.y;
    ivec4 columns = ivec4(at, at + 1, at + 2, at + 3);
    dx4[(base + uint(at)) / 4u] = mix(vec4(0.0), g.xxyy, equal(columns, picked.xxyy));
  }
}

void main() {
  const uint out_plane = out_h * out_w, in_plane = in_h * in_w, step = PAIRS ? 2u : 1u;
#ifdef VKT_WINDOWS
  uint plane, local_plane;
  if (!window_plane(plane, local_plane)) return;
  const uint w = gl_WorkGroupID.y, first = window_base(w, out_plane);
  for (uint p = gl_LocalInvocationID.x; p < out_plane / step; p += gl_WorkGroupSize.x) {
    if (PAIRS)
      scatter_pair(w, first + 2u * p, p, local_plane * in_plane);
    else
      scatter(w, first + p, p, local_plane * in_plane);
  }
#else
  uint plane = plane_index(), p = gl_GlobalInvocationID.x;
  if (plane >= planes || p >= (CELLS ? out_plane / step : in_plane)) return;
  if (!CELLS)
    gather(plane, p);
  else if (PAIRS)
    scatter_pair(0u, plane * out_plane + 2u * p, p, plane * in_plane);
  else
    scatter(0u, plane * out_plane + p, p, plane * in_plane);
#endif
}
