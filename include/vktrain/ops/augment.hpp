// Data augmentation on the GPU, reproducible by seed (see shaders/augment.comp for the layout).
#pragma once

#include <cstdint>

#include "vktrain/tensor.hpp"

namespace vkt {

struct AugmentParams {
  uint32_t pad = 2;  // random translation in [-pad, pad] (random crop of the zero-padded image)
  bool flip = true;  // horizontal flip with probability 1/2
  // Random rotation about the image centre, uniform in [-max, max) degrees, bilinear with zero
  // fill; in [0, 180]. 0 (off) keeps the exact integer crop and flip.
  float max_rotation_degrees = 0;
  uint64_t seed = 0;
  uint32_t stream = 0;
};

// y (N, C, H, W) = augmented x; the step is a uint32 (1,) device counter (captured steps advance
// it). Image n's translation, flip and angle come from Philox block n of (seed, stream, *step):
// words 0 and 1 give dx and dy, the top bit of word 2 the flip, word 3 the angle in radians
//   max_rotation · (2 · philox::uniform(word 3) − 1),  max_rotation = float(degrees · π / 180),
// the latter computed in double. Positive angles turn the image counter-clockwise as displayed;
// the translated and flipped image is rotated about its centre.
void augment_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                     const AugmentParams& params);

}  // namespace vkt
