#version 450
#extension GL_GOOGLE_include_directive : enable
#include "pool_planes.glsl"
// max_pool2d backward. Every dx element is written once (zero where no window picked it), in a fixed
// order: no atomics, no separate zero fill.
// - Overlapping windows (stride < kernel): one invocation per input element, summing dy over the
//   windows that cover it and whose recorded argmax it is.
// - CELLS (stride >= kernel, as in the usual 2x2/2): one invocation per window, writing the cell of
//   inputs it owns — rows [o·stride − pad, (o+1)·stride − pad) clipped to the image, the last cell
//   to the image's end — dy where the argmax is and zero elsewhere: one read of dy and of the index
//   per window instead of one per input.
layout(constant_id = 8) const bool CELLS = false;
layout(std430, binding = 0) readonly buffer Grad { float dy[]; };         // (N, C, Ho, Wo)
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };   // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer InputGrad { float dx[]; };   // (N, C, H, W)

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

void scatter(uint plane, uint p) {
  ivec2 o = plane_position(p, out_w);
  uint i = plane * out_h * out_w + p;
  float g = dy[i];
  int picked = indices[i];
  ivec2 rows = cell(o.x, STRIDE_H, PAD_H, int(out_h), int(in_h));
  ivec2 cols = cell(o.y, STRIDE_W, PAD_W, int(out_w), int(in_w));
  uint base = plane * in_h * in_w;
  for (int h = rows.x; h < rows.y; ++h)
    for (int w = cols.x; w < cols.y; ++w) {
      int position = h * int(in_w) + w;
      dx[base + uint(position)] = position == picked ? g : 0.0;
    }
}

void main() {
  uint plane = plane_index(), p = gl_GlobalInvocationID.x;
  if (plane >= planes || p >= (CELLS ? out_h * out_w : in_h * in_w)) return;
  if (CELLS)
    scatter(plane, p);
  else
    gather(plane, p);
}
