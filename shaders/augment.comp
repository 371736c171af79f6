#version 450
#extension GL_GOOGLE_include_directive : enable
#include "index.glsl"
#include "philox.glsl"
// Data augmentation of a batch (N, C, H, W): per image, a random translation by (dy, dx) in
// [-pad, pad] with zero fill (random crop of the zero-padded image) and a horizontal flip with
// probability 1/2. Image n draws Philox block n of stream (seed, stream, step): word 0 gives dx,
// word 1 dy, the top bit of word 2 the flip. The step comes from a device counter so captured steps
// augment differently on every replay.
//   out[n][c][h][w] = x[n][c][h + dy][(flip ? W - 1 - w : w) + dx], 0 outside the image.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Step { uint step[]; };  // (1,)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n, channels, height, width;
  uint seed_lo, seed_hi, stream;
  uint pad;
  uint flip_enabled;
};

void main() {
  uint index = global_index();
  uint plane = height * width;
  uint image_size = channels * plane;
  if (index >= n * image_size) return;
  uint image = index / image_size;
  uint within = index % plane;
  uint h = within / width, w = within % width;
  uvec4 words = philox_block(image, step[0], stream, seed_lo, seed_hi);
  int span = int(2u * pad + 1u);
  int dx = int(words.x % uint(span)) - int(pad);
  int dy = int(words.y % uint(span)) - int(pad);
  bool flip = flip_enabled != 0u && (words.z >> 31) != 0u;
  int source_w = int(flip ? width - 1u - w : w) + dx;
  int source_h = int(h) + dy;
  float value = 0.0;
  if (source_w >= 0 && source_w < int(width) && source_h >= 0 && source_h < int(height))
    value = x[index - within + uint(source_h) * width + uint(source_w)];
  y[index] = value;
}
