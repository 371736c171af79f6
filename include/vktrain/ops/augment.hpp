// Data augmentation on the GPU, reproducible by seed (see shaders/augment.comp for the layout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vktrain/tensor.hpp"

namespace vkt {

// Most channels `fill` can name one by one (a push-constant array); one value serves any number.
inline constexpr size_t kAugmentMaxFillChannels = 16;

struct AugmentParams {
  uint32_t pad = 2;  // random translation in [-pad, pad] (random crop of the padded image)
  bool flip = true;  // horizontal flip with probability 1/2
  // Random rotation about the image centre, uniform in [-max, max) degrees, bilinear with the
  // fill outside; in [0, 180]. 0 (off) keeps the exact integer crop and flip.
  float max_rotation_degrees = 0;
  uint64_t seed = 0;
  uint32_t stream = 0;
  // The value of pixels from outside the image (torchvision's `fill`): empty for 0, one value for
  // every channel, or one per channel (at most kAugmentMaxFillChannels). On normalized images,
  // pass the normalized value of black, -mean/std per channel, so that augmenting then commutes
  // with normalizing as in torchvision's RandomCrop -> ToTensor -> Normalize.
  std::vector<float> fill;
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
