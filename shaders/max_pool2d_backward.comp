#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// max_pool2d backward: one invocation per input element, summing dy over the windows that cover it
// and whose recorded argmax it is. Every dx element is written (zero when no window picked it) and
// overlapping windows add up in a fixed order: no atomics, no separate zero fill.
layout(std430, binding = 0) readonly buffer Grad { float dy[]; };         // (N, C, Ho, Wo)
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };   // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer InputGrad { float dx[]; };   // (N, C, H, W)
layout(push_constant) uniform Push {
  uint total;  // N·C·H·W
  uint in_h, in_w, out_h, out_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

// Windows o with o·stride − pad ≤ v ≤ o·stride − pad + kernel − 1, clipped to [0, count).
ivec2 covering(int v, int kernel, int stride, int pad, int count) {
  int low = v + pad - kernel + 1;
  int first = low <= 0 ? 0 : (low + stride - 1) / stride;
  int last = min((v + pad) / stride + 1, count);
  return ivec2(first, last);
}

void main() {
  uint i = global_index();
  if (i >= total) return;
  int w = int(i % in_w), h = int((i / in_w) % in_h);
  uint plane = i / (in_w * in_h);
  int position = h * int(in_w) + w;
  ivec2 rows = covering(h, kernel_h, stride_h, pad_h, int(out_h));
  ivec2 cols = covering(w, kernel_w, stride_w, pad_w, int(out_w));
  uint base = plane * out_h * out_w;
  float sum = 0.0;
  for (int oh = rows.x; oh < rows.y; ++oh)
    for (int ow = cols.x; ow < cols.y; ++ow) {
      uint o = base + uint(oh) * out_w + uint(ow);
      if (indices[o] == position) sum += dy[o];
    }
  dx[i] = sum;
}
