// Philox4x32-10 (Salmon et al., SC'11; Random123), bit-identical to include/vktrain/philox.hpp, and
// vktrain's stream layout on top of it:
//   key = (seed low 32 bits, seed high 32 bits); counter = (index / 4, step, stream, 0);
//   element `index` takes word index % 4 of the block; uniform = (word >> 8) * 2^-24 in [0, 1).
// Kernels compute one whole block per invocation (four consecutive elements), so which invocation
// computes an element never changes its value: the workgroup and subgroup sizes do not matter.

uvec4 philox4x32_10(uvec4 counter, uvec2 key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) key += uvec2(0x9E3779B9u, 0xBB67AE85u);  // Weyl key schedule
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, counter.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, counter.z, hi1, lo1);
    counter = uvec4(hi1 ^ counter.y ^ key.x, lo1, hi0 ^ counter.w ^ key.y, lo0);
  }
  return counter;
}

// The block holding elements 4·block .. 4·block + 3 of stream (seed, stream, step).
uvec4 philox_block(uint block, uint step, uint stream, uint seed_lo, uint seed_hi) {
  return philox4x32_10(uvec4(block, step, stream, 0u), uvec2(seed_lo, seed_hi));
}

// Dropout's layout (philox.hpp: dropout_bits): the block of mask elements 8·block .. 8·block + 7,
// counter word 3 = 1; element 8·block + k takes the low 16 bits of word k for k < 4, the high 16
// bits of word k − 4 otherwise.
uvec4 philox_dropout_block(uint block, uint step, uint stream, uint seed_lo, uint seed_hi) {
  return philox4x32_10(uvec4(block, step, stream, 1u), uvec2(seed_lo, seed_hi));
}

// [0, 1): exact, the top 24 bits scaled.
float philox_uniform(uint word) { return float(word >> 8) * (1.0 / 16777216.0); }
// (0, 1]: for the logarithm of Box–Muller, which must never see 0.
float philox_uniform_open0(uint word) { return float((word >> 8) + 1u) * (1.0 / 16777216.0); }

// Four N(0, 1) values from one block by Box–Muller: words (0, 1) give elements 0 and 1 (cos, sin),
// words (2, 3) elements 2 and 3. The angle is taken in [-π, π), where the Vulkan precision
// requirements for sin/cos apply: cos(2πu − π) = −cos(2πu), sin(2πu − π) = −sin(2πu).
vec4 philox_normal4(uvec4 words) {
  const float kTwoPi = 6.28318530717958647692;
  const float kPi = 3.14159265358979323846;
  vec2 r = sqrt(-2.0 * log(vec2(philox_uniform_open0(words.x), philox_uniform_open0(words.z))));
  vec2 theta = kTwoPi * vec2(philox_uniform(words.y), philox_uniform(words.w)) - kPi;
  return -vec4(r.x * cos(theta.x), r.x * sin(theta.x), r.y * cos(theta.y), r.y * sin(theta.y));
}
