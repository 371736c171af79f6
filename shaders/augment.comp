#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Data augmentation of a batch (N, C, H, W): per image, a random translation by (dy, dx) in
// [-pad, pad] (random crop of the image padded with fill[c]), a horizontal flip with
// probability 1/2 and, when max_rotation > 0, a rotation about the image centre by an angle
// uniform in [-max_rotation, max_rotation) radians (positive: counter-clockwise as displayed).
// Image n draws Philox block n of stream (seed, stream, step): word 0 gives dx, word 1 dy, the top
// bit of word 2 the flip, word 3 the angle max_rotation * (2u - 1), u = philox_uniform(word 3).
// The step comes from a device counter so captured steps augment differently on every replay.
// Without rotation, an exact integer copy:
//   out[n][c][h][w] = x[n][c][h + dy][(flip ? W - 1 - w : w) + dx], fill[c] outside the image.
// With rotation, the translated and flipped image is rotated: each output pixel maps back through
// the inverse rotation about (cy, cx) = ((H - 1) / 2, (W - 1) / 2), the flip and the translation
// to a real source position, sampled bilinearly with fill[c] outside the image. fill holds one
// value per channel, or one for all (fill_count 1).
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Step { uint step[]; };  // (1,)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n, channels, height, width;
  uint seed_lo, seed_hi, stream;
  uint pad;
  uint flip_enabled;
  float max_rotation;  // radians, in [0, π]; 0 keeps the exact integer path
  uint fill_count;     // 1 (fill[0] for every channel) or the channel count
  float fill[16];      // kAugmentMaxFillChannels
};

float outside;  // this invocation's channel's fill

// (sin a, cos a) for |a| <= pi to a few float32 ulps. The built-ins are only required to be
// within 2^-11 absolute, which would move a sample 8 pixels from the centre by 4e-3 pixel. Reduced
// to |r| <= pi/2 by sin(a) = sin(±pi - a), cos(a) = -cos(±pi - a); Taylor terms to r^14 (error
// below 1e-9).
vec2 sin_cos(float a) {
  const float kPi = 3.14159265358979323846;
  float r = a, sign_cos = 1.0;
  if (abs(a) > 0.5 * kPi) {
    r = (a > 0.0 ? kPi : -kPi) - a;
    sign_cos = -1.0;
  }
  float r2 = r * r;
  float s = 1.0 / 6227020800.0;  // 1/13!
  s = s * r2 - 1.0 / 39916800.0;
  s = s * r2 + 1.0 / 362880.0;
  s = s * r2 - 1.0 / 5040.0;
  s = s * r2 + 1.0 / 120.0;
  s = s * r2 - 1.0 / 6.0;
  s = (s * r2 + 1.0) * r;
  float c = -1.0 / 87178291200.0;  // -1/14!
  c = c * r2 + 1.0 / 479001600.0;
  c = c * r2 - 1.0 / 3628800.0;
  c = c * r2 + 1.0 / 40320.0;
  c = c * r2 - 1.0 / 720.0;
  c = c * r2 + 1.0 / 24.0;
  c = c * r2 - 0.5;
  c = c * r2 + 1.0;
  return vec2(s, sign_cos * c);
}

// x at (row, column) of the plane starting at `base`, the fill outside the image.
float texel(uint base, int row, int column) {
  if (row < 0 || row >= int(height) || column < 0 || column >= int(width)) return outside;
  return x[base + uint(row) * width + uint(column)];
}

void main() {
  const uint step_now = step[0];  // before any return (index.glsl: uniform loads go first)
  uint index = global_index();
  uint plane = height * width;
  uint image_size = channels * plane;
  if (index >= n * image_size) return;
  uint image = index / image_size;
  uint within = index % plane;
  uint base = index - within;
  uint h = within / width, w = within % width;
  outside = fill[min((index - image * image_size) / plane, fill_count - 1u)];
  uvec4 words = philox_block(image, step_now, stream, seed_lo, seed_hi);
  int span = int(2u * pad + 1u);
  int dx = int(words.x % uint(span)) - int(pad);
  int dy = int(words.y % uint(span)) - int(pad);
  bool flip = flip_enabled != 0u && (words.z >> 31) != 0u;
  if (max_rotation == 0.0) {
    y[index] = texel(base, int(h) + dy, int(flip ? width - 1u - w : w) + dx);
    return;
  }
  vec2 sc = sin_cos(max_rotation * (2.0 * philox_uniform(words.w) - 1.0));
  float cx = 0.5 * float(width - 1u), cy = 0.5 * float(height - 1u);
  float u = float(w) - cx, v = float(h) - cy;
  float ru = sc.y * u - sc.x * v;  // inverse rotation of (u, v), rows pointing down
  float rv = sc.x * u + sc.y * v;
  float source_x = cx + (flip ? -ru : ru) + float(dx);
  float source_y = cy + rv + float(dy);
  float x0 = floor(source_x), y0 = floor(source_y);
  float tx = source_x - x0, ty = source_y - y0;
  int column = int(x0), row = int(y0);
  float top = mix(texel(base, row, column), texel(base, row, column + 1), tx);
  float bottom = mix(texel(base, row + 1, column), texel(base, row + 1, column + 1), tx);
  y[index] = mix(top, bottom, ty);
}
