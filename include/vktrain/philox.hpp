// Philox4x32-10 on the CPU: the same counter-based generator the GPU kernels run
// (shaders/common/philox.glsl), so a user or a test can reproduce any GPU random stream exactly.
//
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC'11)
// maps a 128-bit counter and a 64-bit key to 128 random bits through 10 rounds of two 32x32->64
// multiplications, with a Weyl-sequence key schedule. Nothing is stateful: any element of any
// stream is computed directly from (seed, stream, step, index).
//
// vktrain's stream layout (every random op but dropout's masks, below; see
// include/vktrain/ops/random.hpp):
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (index / 4, step, stream, 0)
//   element `index` takes word index % 4 of that counter's output block
//   uniform = (word >> 8) * 2^-24, in [0, 1), exact in float32
// It depends on nothing else: not the workgroup size, the subgroup size or the vendor.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace vkt::philox {

using Counter = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;
using Block = std::array<uint32_t, 4>;

inline constexpr uint32_t kMultiplier0 = 0xD2511F53u;
inline constexpr uint32_t kMultiplier1 = 0xCD9E8D57u;
inline constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1
inline constexpr int kRounds = 10;

// One Philox4x32-10 block.
constexpr Block philox4x32_10(Counter counter, Key key) {
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    uint64_t product0 = uint64_t(kMultiplier0) * counter[0];
    uint64_t product1 = uint64_t(kMultiplier1) * counter[2];
    uint32_t hi0 = uint32_t(product0 >> 32), lo0 = uint32_t(product0);
    uint32_t hi1 = uint32_t(product1 >> 32), lo1 = uint32_t(product1);
    counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
  }
  return counter;
}

constexpr Key key_from_seed(uint64_t seed) {
  return {uint32_t(seed), uint32_t(seed >> 32)};
}

// The counter of the block holding element `index` (index < 2^34).
constexpr Counter counter_for(uint64_t index, uint32_t step, uint32_t stream) {
  return {uint32_t(index / 4), step, stream, 0u};
}

// The raw 32-bit word of element `index` of stream (seed, stream, step).
constexpr uint32_t bits(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index) {
  return philox4x32_10(counter_for(index, step, stream), key_from_seed(seed))[index % 4];
}

// A word as a uniform float in [0, 1): its top 24 bits times 2^-24 (exact in float32).
constexpr float uniform(uint32_t word) {
  return float(word >> 8) * (1.0f / 16777216.0f);
}
// The same in (0, 1]: for logarithms, which must never see 0.
constexpr float uniform_open0(uint32_t word) {
  return float((word >> 8) + 1u) * (1.0f / 16777216.0f);
}

// Dropout's masks have a layout of their own: one block gives eight elements 16 bits each, which
// halves the Philox rounds per element (the rounds bound the kernel where memory does not):
//   counter = (index / 8, step, stream, 1)   (word 3 = 1: never a block of the layout above)
//   element `index` takes word index % 4 of its block: the low 16 bits if index % 8 < 4, the high
//   16 bits otherwise; its uniform is those bits * 2^-16, in [0, 1)
//   keep iff that uniform >= p, i.e. iff the bits >= ceil(p * 2^16) (dropout_threshold)
// So the drop probability is p rounded up to a multiple of 2^-16 (at most 2^-16 more); the scale
// stays torch's 1 / (1 - p).
constexpr Counter dropout_counter_for(uint64_t index, uint32_t step, uint32_t stream) {
  return {uint32_t(index / 8), step, stream, 1u};
}
// The 16 mask bits of element `index` of stream (seed, stream, step).
constexpr uint32_t dropout_bits(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index) {
  uint32_t word =
      philox4x32_10(dropout_counter_for(index, step, stream), key_from_seed(seed))[index % 4];
  return index % 8 < 4 ? word & 0xFFFFu : word >> 16;
}
// The integer threshold the kernels compare the 16 bits against (2^16 for p = 1: nothing kept).
inline uint32_t dropout_threshold(float p) {
  return uint32_t(std::ceil(double(p) * 65536.0));
}
// The factor a kept element is multiplied by, 1 / (1 − p) in float32 as torch computes it; 0 for
// p = 1 (nothing is kept; not 1/0).
inline float dropout_scale(float p) {
  return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

// N(0, 1) of element `index`, by Box–Muller in float64 (the reference the GPU's float32 values
// approximate). Element index uses the pair of words (2j, 2j + 1), j = (index % 4) / 2, of its
// block: u1 = uniform_open0(word 2j) in (0, 1], u2 = uniform(word 2j + 1); r = sqrt(-2 ln u1); even
// index % 4 gets r·cos(2π u2), odd gets r·sin(2π u2). One block gives four normals.
inline double normal(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index) {
  Block block = philox4x32_10(counter_for(index, step, stream), key_from_seed(seed));
  uint32_t pair = uint32_t(index % 4) / 2;
  double u1 = uniform_open0(block[2 * pair]);
  double u2 = uniform(block[2 * pair + 1]);
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * 3.14159265358979323846 * u2;
  return index % 2 == 0 ? r * std::cos(theta) : r * std::sin(theta);
}

}  // namespace vkt::philox
