#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
// avg_pool2d forward (MODE 0: one invocation per output element) and backward (MODE 1: one per
// input element, gathering dy / divisor over the windows that cover it, in a fixed order). The
// divisor follows PyTorch: the window clipped to the padded image when COUNT_INCLUDE_PAD, else the
// window clipped to the image itself.
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const bool COUNT_INCLUDE_PAD = true;
layout(std430, binding = 0) readonly buffer Source { float source[]; };       // x or dy
layout(std430, binding = 1) writeonly buffer Result { float result[]; };      // y or dx
layout(push_constant) uniform Push {
  uint total;  // elements of the result
  uint in_h, in_w, out_h, out_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

// The window of output (oh, ow) clipped to the image: (h_begin, h_end, w_begin, w_end), and its
// divisor.
ivec4 window(int oh, int ow, out float divisor) {
  int h0 = oh * stride_h - pad_h, w0 = ow * stride_w - pad_w;
  int h1 = min(h0 + kernel_h, int(in_h) + pad_h), w1 = min(w0 + kernel_w, int(in_w) + pad_w);
  int padded = (h1 - h0) * (w1 - w0);
  ivec4 r = ivec4(max(h0, 0), min(h1, int(in_h)), max(w0, 0), min(w1, int(in_w)));
  divisor = float(COUNT_INCLUDE_PAD ? padded : (r.y - r.x) * (r.w - r.z));
  return r;
}

ivec2 covering(int v, int kernel, int stride, int pad, int count) {
  int low = v + pad - kernel + 1;
  int first = low <= 0 ? 0 : (low + stride - 1) / stride;
  int last = min((v + pad) / stride + 1, count);
  return ivec2(first, last);
}

void main() {
  uint i = global_index();
  if (i >= total) return;
  if (MODE == 0) {
    int ow = int(i % out_w), oh = int((i / out_w) % out_h);
    uint base = (i / (out_w * out_h)) * in_h * in_w;
    float divisor;
    ivec4 r = window(oh, ow, divisor);
    float sum = 0.0;
    for (int h = r.x; h < r.y; ++h)
      for (int w = r.z; w < r.w; ++w) sum += source[base + uint(h) * in_w + uint(w)];
    result[i] = sum / divisor;
  } else {
    int w = int(i % in_w), h = int((i / in_w) % in_h);
    uint base = (i / (in_w * in_h)) * out_h * out_w;
    ivec2 rows = covering(h, kernel_h, stride_h, pad_h, int(out_h));
    ivec2 cols = covering(w, kernel_w, stride_w, pad_w, int(out_w));
    float sum = 0.0;
    for (int oh = rows.x; oh < rows.y; ++oh)
      for (int ow = cols.x; ow < cols.y; ++ow) {
        float divisor;
        window(oh, ow, divisor);
        sum += source[base + uint(oh) * out_w + uint(ow)] / divisor;
      }
    result[i] = sum;
  }
}
