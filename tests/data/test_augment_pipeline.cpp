// The loader feeding GPU augmentation (augment_forward, include/vktrain/ops/augment.hpp) as a
// training step does: captured once, replayed per batch with the step counter advancing on the
// device; the drawn crops and flips decoded from the GPU's output and checked for their spread.
#include <catch2/catch.hpp>

#include <cmath>
#include <vktrain/data.hpp>
#include <vktrain/ops.hpp>
#include <vktrain/philox.hpp>
#include <vktrain/scheduler.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {

struct Draw {
  int dx, dy;
  bool flip;
};

// Image n's parameters as shaders/augment.comp documents them: Philox block n of
// (seed, stream, step); dx from word 0, dy from word 1, the flip from the top bit of word 2.
Draw cpu_draw(const AugmentParams& p, uint32_t step, int64_t image) {
  auto words = philox::philox4x32_10(philox::counter_for(uint64_t(image) * 4, step, p.stream),
                                     philox::key_from_seed(p.seed));
  uint32_t span = 2 * p.pad + 1;
  return {int(words[0] % span) - int(p.pad), int(words[1] % span) - int(p.pad),
          p.flip && (words[2] >> 31) != 0};
}

std::vector<float> cpu_augment(const std::vector<float>& x, const Shape& s, const AugmentParams& p,
                               uint32_t step) {
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  std::vector<float> y(x.size());
  for (int64_t image = 0; image < n; ++image) {
    Draw d = cpu_draw(p, step, image);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col) {
          int64_t sr = r + d.dy, sc = (d.flip ? w - 1 - col : col) + d.dx;
          bool inside = sr >= 0 && sr < h && sc >= 0 && sc < w;
          y[size_t(((image * c + ch) * h + r) * w + col)] =
              inside ? x[size_t(((image * c + ch) * h + sr) * w + sc)] : 0.0f;
        }
  }
  return y;
}

// Images whose every pixel says where it came from: 1 + h·W + w + 1000·c (never 0, the padding).
data::Dataset coordinates(int64_t count, int64_t channels, int64_t size) {
  data::Dataset d;
  d.count = count;
  d.channels = channels;
  d.height = d.width = size;
  d.num_classes = 3;
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = 0; p < size * size; ++p) d.images.push_back(float(1 + p + 1000 * c));
    d.labels.push_back(int32_t(n % 3));
  }
  return d;
}

}  // namespace

TEST_CASE("data: a captured augmentation step replayed over loader batches", "[data][augment]") {
  const Device& device = testing::test_device();
  data::Dataset d = coordinates(23, 3, 7);
  data::DataLoader loader(d, 8, true, 9);
  const Shape shape{8, 3, 7, 7};
  Tensor images = Tensor::empty(device, shape), labels = Tensor::empty(device, {8}, DType::i32);
  Tensor augmented = Tensor::empty(device, shape);
  const uint32_t first_step = 17;
  std::vector<uint32_t> step_value{first_step};
  Tensor step = Tensor::from_host(device, std::span<const uint32_t>(step_value), {1});
  const AugmentParams params{.pad = 2, .flip = true, .seed = 0x1234567890ull, .stream = 3};
  Scheduler& scheduler = device.scheduler();
  Sequence sequence = scheduler.capture([&] {
    augment_forward(images, step, augmented, params);
    increment(step);
  });
  // Each batch: an upload recorded outside the sequence, then the replay reading it.
  std::vector<std::vector<float>> outputs;
  for (uint32_t batch = 0; loader.next(images, labels) > 0; ++batch) {
    scheduler.replay(sequence);
    std::vector<float> host_batch = images.to_host();
    std::vector<float> got = augmented.to_host();
    REQUIRE(got ==
            cpu_augment(host_batch, shape, params, first_step + batch));  // bit-exact: pixels move
    outputs.push_back(got);
  }
  CHECK(outputs.size() == 3);
  CHECK(step.to_host_u32()[0] == first_step + 3);

  // Reproducible by seed: the same epoch and step give the same images; another seed or stream not.
  auto run = [&](const AugmentParams& p, uint32_t at_step) {
    loader.begin_epoch(0);
    loader.next(images, labels);
    std::vector<uint32_t> value{at_step};
    Tensor s = Tensor::from_host(device, std::span<const uint32_t>(value), {1});
    Tensor out = Tensor::empty(device, shape);
    augment_forward(images, s, out, p);
    return out.to_host();
  };
  CHECK(run(params, first_step) == outputs[0]);
  CHECK(run(params, first_step + 1) != outputs[0]);
  AugmentParams other_seed = params, other_stream = params;
  other_seed.seed += 1;
  other_stream.stream += 1;
  CHECK(run(other_seed, first_step) != outputs[0]);
  CHECK(run(other_stream, first_step) != outputs[0]);
  // No padding and no flip: the identity.
  loader.begin_epoch(0);
  loader.next(images, labels);
  CHECK(run({.pad = 0, .flip = false, .seed = 5, .stream = 0}, 0) == images.to_host());
}

TEST_CASE("data: augmentation's crops and flips are spread as documented", "[data][augment]") {
  // Decode each image's (dx, dy, flip) from the GPU's output: with pad 2 on a 9x9 image, the pixels
  // (4, 3) and (4, 5) always come from inside the image, and their values name their sources.
  const Device& device = testing::test_device();
  const int64_t count = 3000, size = 9, pad = 2;
  data::Dataset d = coordinates(count, 2, size);
  const Shape shape{count, 2, size, size};
  Tensor x = Tensor::from_host(device, d.images, shape), y = Tensor::empty(device, shape);
  std::vector<uint32_t> step_value{4};
  Tensor step = Tensor::from_host(device, std::span<const uint32_t>(step_value), {1});
  const AugmentParams params{.pad = uint32_t(pad), .flip = true, .seed = 77, .stream = 1};
  augment_forward(x, step, y, params);
  std::vector<float> out = y.to_host();

  std::vector<int> dx_count(5, 0), dy_count(5, 0);
  int flips = 0, same_shift = 0;
  for (int64_t n = 0; n < count; ++n) {
    auto source = [&](int64_t c, int64_t h, int64_t w) {
      int v = int(out[size_t(((n * 2 + c) * size + h) * size + w)]) - 1 - 1000 * int(c);
      return std::pair{v / int(size), v % int(size)};
    };
    auto [row_a, a] = source(0, 4, 3);
    auto [row_b, b] = source(0, 4, 5);
    REQUIRE(row_a == row_b);
    REQUIRE(std::abs(a - b) == 2);
    bool flip = a > b;
    int dx = flip ? a - 5 : a - 3, dy = row_a - 4;
    REQUIRE(source(1, 4, 3) == std::pair{row_a, a});  // every channel moves alike
    Draw expected = cpu_draw(params, 4, n);
    REQUIRE(dx == expected.dx);
    REQUIRE(dy == expected.dy);
    REQUIRE(flip == expected.flip);
    ++dx_count[size_t(dx + pad)];
    ++dy_count[size_t(dy + pad)];
    flips += flip;
    same_shift += dx == dy;
  }
  // Binomial counts within 4.5 standard deviations (the seed is fixed: this never flakes).
  auto within = [&](int k, double p) {
    double sd = std::sqrt(double(count) * p * (1 - p));
    return std::fabs(double(k) - double(count) * p) <= 4.5 * sd;
  };
  CHECK(within(flips, 0.5));
  for (int i = 0; i < 5; ++i) {
    CHECK(within(dx_count[size_t(i)], 0.2));
    CHECK(within(dy_count[size_t(i)], 0.2));
  }
  CHECK(within(same_shift, 0.2));  // dx and dy are independent draws
}
