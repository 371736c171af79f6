#version 450
#extension GL_GOOGLE_include_directive : enable
#include "pool_planes.glsl"
// max_pool2d forward: one invocation per output element. Padding acts as −inf, so only the window's
// part inside the image is read; the index is the flat h·W + w of the first maximum in row-major
// window order, and a NaN wins over numbers (as PyTorch's CPU kernel: v > best || isnan(v)).
layout(std430, binding = 0) readonly buffer X { float x[]; };             // (N, C, H, W)
layout(std430, binding = 1) writeonly buffer Y { float y[]; };            // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };  // (N, C, Ho, Wo)

void main() {
  uint plane = plane_index(), p = gl_GlobalInvocationID.x;
  if (plane >= planes || p >= out_h * out_w) return;
  ivec2 o = plane_position(p, out_w);
  int h0 = o.x * STRIDE_H - PAD_H, w0 = o.y * STRIDE_W - PAD_W;
  int h_begin = max(h0, 0), h_end = min(h0 + KERNEL_H, int(in_h));
  int w_begin = max(w0, 0), w_end = min(w0 + KERNEL_W, int(in_w));
  uint base = plane * in_h * in_w;
  float best = uintBitsToFloat(0xff800000u);  // −inf
  int best_index = h_begin * int(in_w) + w_begin;
  for (int h = h_begin; h < h_end; ++h)
    for (int w = w_begin; w < w_end; ++w) {
      int index = h * int(in_w) + w;
      float v = x[base + uint(index)];
      if (v > best || isnan(v)) {
        best = v;
        best_index = index;
      }
    }
  uint i = plane * out_h * out_w + p;
  y[i] = best;
  indices[i] = best_index;
}
