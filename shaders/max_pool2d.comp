#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// max_pool2d forward: one invocation per output element. Padding acts as −inf, so only the window's
// part inside the image is read; the index is the flat h·W + w of the first maximum in row-major
// window order, and a NaN wins over numbers (as PyTorch's CPU kernel: v > best || isnan(v)).
layout(std430, binding = 0) readonly buffer X { float x[]; };             // (N, C, H, W)
layout(std430, binding = 1) writeonly buffer Y { float y[]; };            // (N, C, Ho, Wo)
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };  // (N, C, Ho, Wo)
layout(push_constant) uniform Push {
  uint total;  // N·C·Ho·Wo
  uint in_h, in_w, out_h, out_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

void main() {
  uint i = global_index();
  if (i >= total) return;
  int ow = int(i % out_w), oh = int((i / out_w) % out_h);
  uint plane = i / (out_w * out_h);
  int h0 = oh * stride_h - pad_h, w0 = ow * stride_w - pad_w;
  int h_begin = max(h0, 0), h_end = min(h0 + kernel_h, int(in_h));
  int w_begin = max(w0, 0), w_end = min(w0 + kernel_w, int(in_w));
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
  y[i] = best;
  indices[i] = best_index;
}
