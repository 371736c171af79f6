// augment: the GPU matches a CPU reference drawing the same Philox words; same seed, same images.
#include <vktrain/philox.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {
std::vector<double> reference(const std::vector<float>& x, const Shape& s, const AugmentParams& p,
                              uint32_t step) {
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  std::vector<double> y(x.size());
  for (int64_t image = 0; image < n; ++image) {
    auto words = philox::philox4x32_10(philox::counter_for(uint64_t(image) * 4, step, p.stream),
                                       philox::key_from_seed(p.seed));
    int span = int(2 * p.pad + 1);
    int dx = int(words[0] % uint32_t(span)) - int(p.pad), dy = int(words[1] % uint32_t(span)) - int(p.pad);
    bool flip = p.flip && (words[2] >> 31) != 0;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col) {
          int64_t sr = r + dy, sc = (flip ? w - 1 - col : col) + dx;
          double v = 0;
          if (sr >= 0 && sr < h && sc >= 0 && sc < w) v = x[size_t(((image * c + ch) * h + sr) * w + sc)];
          y[size_t(((image * c + ch) * h + r) * w + col)] = v;
        }
  }
  return y;
}
}  // namespace

VKT_CASE("augment", "crop_and_flip") {
  const Shape shape{37, 3, 9, 11};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  Tensor tx = ctx.upload(x, shape);
  uint32_t step_value[] = {5};
  Tensor step = Tensor::from_host(ctx.device, std::span<const uint32_t>(step_value), {1});
  AugmentParams params{.pad = 3, .flip = true, .seed = ctx.seed, .stream = 4};
  Tensor y = ctx.poisoned(shape);
  augment_forward(tx, step, y, params);
  ctx.check("", shapes({shape}), y.to_host(), reference(x, shape, params, 5), 0.0);
  // Another step moves the images differently; the same step reproduces them.
  increment(step);
  Tensor y6 = ctx.poisoned(shape);
  augment_forward(tx, step, y6, params);
  ctx.check("next_step", shapes({shape}), y6.to_host(), reference(x, shape, params, 6), 0.0);
  ctx.check_error("alias", [&] { augment_forward(tx, step, tx, params); }, {"augment", "alias"});
  ctx.check_error("pad", [&] { augment_forward(tx, step, y, {.pad = 9}); }, {"augment", "pad 9"});
}
