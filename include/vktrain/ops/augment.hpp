// Data augmentation on the GPU, reproducible by seed (see shaders/augment.comp for the layout).
#pragma once

#include <cstdint>

#include "vktrain/tensor.hpp"

namespace vkt {

struct AugmentParams {
  uint32_t pad = 2;    // random translation in [-pad, pad] (random crop of the zero-padded image)
  bool flip = true;    // horizontal flip with probability 1/2
  uint64_t seed = 0;
  uint32_t stream = 0;
};

// y (N, C, H, W) = augmented x; the step is a uint32 (1,) device counter (captured steps advance it).
// Image n's translation and flip come from Philox block n of (seed, stream, *step).
void augment_forward(const Tensor& x, const Tensor& step, const Tensor& y, const AugmentParams& params);

}  // namespace vkt
