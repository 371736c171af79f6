// Philox4x32-10: the published Random123 known-answer vectors on the CPU
// (include/vktrain/philox.hpp) and the GPU (shaders/common/philox.glsl), and the GPU stream layout
// bit-identical to the CPU's.
// Kernels exercised: random_philox (known answers), random (raw words).
#include <array>

#include "conformance.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

struct KnownAnswer {
  philox::Counter counter;
  philox::Key key;
  philox::Block expected;
};

// Random123's kat_vectors, philox4x32 with 10 rounds.
constexpr std::array<KnownAnswer, 3> kKnownAnswers{{
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
}};

// The CPU generator is constexpr: the vectors are checked at compile time too.
static_assert(philox::philox4x32_10(kKnownAnswers[0].counter, kKnownAnswers[0].key) ==
              kKnownAnswers[0].expected);

// Runs explicit blocks through the GPU kernel: rows of (counter0..3, key0, key1) -> 4 words each.
std::vector<uint32_t> gpu_blocks(Context& ctx, const std::vector<uint32_t>& rows) {
  int64_t n = int64_t(rows.size() / 6);
  Tensor blocks = Tensor::from_host(ctx.device, std::span<const uint32_t>(rows), {n, 6});
  Tensor out = Tensor::empty(ctx.device, {n, 4}, DType::u32);
  out.fill(float(0xDEAD));  // a poison word: unwritten outputs fail
  philox4x32_into(blocks, out);
  return out.to_host_u32();
}

}  // namespace

VKT_CASE("philox4x32", "known_answers_cpu") {
  std::vector<uint32_t> got, expected;
  for (const KnownAnswer& k : kKnownAnswers) {
    philox::Block block = philox::philox4x32_10(k.counter, k.key);
    got.insert(got.end(), block.begin(), block.end());
    expected.insert(expected.end(), k.expected.begin(), k.expected.end());
  }
  ctx.check_equal("", "3 Random123 vectors", got, expected);
}

VKT_CASE("philox4x32", "known_answers_gpu") {
  std::vector<uint32_t> rows, expected;
  for (const KnownAnswer& k : kKnownAnswers) {
    rows.insert(rows.end(), k.counter.begin(), k.counter.end());
    rows.insert(rows.end(), k.key.begin(), k.key.end());
    expected.insert(expected.end(), k.expected.begin(), k.expected.end());
  }
  ctx.check_equal("", "(3, 6)", gpu_blocks(ctx, rows), expected);
}

VKT_CASE("philox4x32", "random_blocks_gpu_equals_cpu") {
  // Arbitrary counters and keys (carries through every multiply and key bump), odd count.
  const size_t n = 1003;
  std::vector<uint32_t> rows(6 * n), expected;
  for (uint32_t& word : rows) word = uint32_t(ctx.rng());
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* r = &rows[6 * i];
    philox::Block block = philox::philox4x32_10({r[0], r[1], r[2], r[3]}, {r[4], r[5]});
    expected.insert(expected.end(), block.begin(), block.end());
  }
  ctx.check_equal("", "(1003, 6)", gpu_blocks(ctx, rows), expected);
  ctx.check_error("bad_rows",
                  [&] {
                    philox4x32_into(Tensor::empty(ctx.device, {3, 5}, DType::u32),
                                    Tensor::empty(ctx.device, {3, 4}, DType::u32));
                  },
                  {"philox4x32", "(3, 5)", "(n, 6)"});
  ctx.check_error("bad_out",
                  [&] {
                    philox4x32_into(Tensor::empty(ctx.device, {3, 6}, DType::u32),
                                    Tensor::empty(ctx.device, {4, 4}, DType::u32));
                  },
                  {"philox4x32", "(4, 4)", "expected (3, 4)"});
}

VKT_CASE("random_bits", "gpu_stream_equals_cpu") {
  // The stream layout (seed, stream, step, index) at sizes that end inside a block.
  for (int64_t n : {1, 2, 7, 1003, 4097}) {
    uint64_t seed = ctx.rng();
    uint32_t stream = uint32_t(ctx.rng() % 1000), step = uint32_t(ctx.rng());
    Tensor out = Tensor::empty(ctx.device, {n}, DType::u32);
    out.fill(float(0xDEAD));
    random_bits_into(out, seed, stream, step);
    std::vector<uint32_t> ref(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ref[size_t(i)] = philox::bits(seed, stream, step, uint64_t(i));
    ctx.check_equal("n" + std::to_string(n), shapes({{n}}), out.to_host_u32(), ref);
  }
  ctx.check_error("wrong_dtype", [&] { random_bits_into(ctx.poisoned({4}), 1); },
                  {"random_bits", "float32", "uint32"});
}

VKT_CASE("random_bits", "independent_of_workgroup_size") {
  // The same kernel dispatched with other workgroup sizes gives the same words: an element's value
  // depends only on (seed, stream, step, index).
  const uint32_t n = 1003, blocks = (n + 3) / 4;
  uint64_t seed = ctx.rng();
  std::vector<uint32_t> ref(n);
  for (uint32_t i = 0; i < n; ++i) ref[i] = philox::bits(seed, 5, 9, i);
  for (uint32_t group : {1u, 7u, 32u, 64u}) {
    Tensor out = Tensor::empty(ctx.device, {n}, DType::u32);
    out.fill(float(0xDEAD));
    struct {
      uint32_t n, seed_lo, seed_hi, stream, step;
      float a, b, upper;
    } push{n, uint32_t(seed), uint32_t(seed >> 32), 5, 9, 0, 0, 0};
    ctx.device.scheduler().dispatch(Kernel{"random", {group, 0}}, {vkt::out(out)}, push,
                                    {(blocks + group - 1) / group, 1, 1});
    ctx.check_equal("group" + std::to_string(group), "(1003,)", out.to_host_u32(), ref);
  }
}
