// Inverted dropout as the last step of a kernel's epilogue (the matmul kernels: C = dropout(relu(
// A·B + bias)) in one pass), with exactly the mask dropout.comp draws for the output's flat index:
// element e keeps iff its 16 bits of Philox block e / 8 (philox.glsl: philox_dropout_block) are
// >= the threshold, and is multiplied by float(keep) · scale as dropout.comp multiplies, so the
// fused result is bit-identical to the kernel followed by dropout_forward.
// The including shader declares `const bool DROPOUT` (a specialization constant), binds the step
// counter (uint32 (1,)) at VKT_DROPOUT_BINDING, puts VKT_DROPOUT_PUSH in its push-constant block,
// calls dropout_begin() at the top of main() (the step is a uniform load: index.glsl) and
// multiplies each output by dropout_factor(flat index).
#include "philox.glsl"

#define VKT_DROPOUT_PUSH \
  uint dropout_seed_lo, dropout_seed_hi, dropout_stream; \
  uint dropout_threshold; /* ceil(p · 2^16) */           \
  float dropout_scale;    /* 1 / (1 − p), 0 when p = 1 */

layout(std430, binding = VKT_DROPOUT_BINDING) readonly buffer DropoutStep { uint dropout_step[]; };

// The step and the push constants, copied at dropout_begin(); the last Philox block computed (an
// invocation's outputs are mostly runs of a row, eight of which share a block).
uint dropout_step_now, dropout_key_lo, dropout_key_hi, dropout_stream_id, dropout_bits_min;
float dropout_factor_kept;
uint dropout_cached_block;
uvec4 dropout_cached_words;

void dropout_begin_with(uint seed_lo, uint seed_hi, uint stream, uint threshold, float scale) {
  dropout_step_now = DROPOUT ? dropout_step[0] : 0u;
  dropout_key_lo = seed_lo;
  dropout_key_hi = seed_hi;
  dropout_stream_id = stream;
  dropout_bits_min = threshold;
  dropout_factor_kept = scale;
  dropout_cached_block = 0xFFFFFFFFu;  // no block: indices stay below 2^32, blocks below 2^29
}
// A macro, so that it names the push constants where main() calls it, after the block.
#define dropout_begin()                                                                 \
  dropout_begin_with(dropout_seed_lo, dropout_seed_hi, dropout_stream, dropout_threshold, \
                     dropout_scale)

float dropout_factor(uint index) {
  const uint block = index / 8u;
  if (block != dropout_cached_block) {
    dropout_cached_words = philox_dropout_block(block, dropout_step_now, dropout_stream_id,
                                                dropout_key_lo, dropout_key_hi);
    dropout_cached_block = block;
  }
  const uint word = dropout_cached_words[index % 4u];
  const uint bits = index % 8u < 4u ? word & 0xFFFFu : word >> 16u;
  return float(bits >= dropout_bits_min) * dropout_factor_kept;
}
