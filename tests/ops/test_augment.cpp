// augment: the GPU matches CPU references drawing the same Philox words: exactly for crop and flip,
// to a stated tolerance for the bilinear rotation; the drawn angles are decoded from the GPU's
// output and checked for range and spread; same seed, same images.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vktrain/philox.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Draw {
  int dx, dy;
  bool flip;
  double angle;  // radians
};

// Image n's parameters as include/vktrain/ops/augment.hpp documents them: Philox block n of
// (seed, stream, step); dx from word 0, dy from word 1, the flip from the top bit of word 2, the
// angle from word 3 scaled by the float32 maximum the kernel receives.
Draw draw(const AugmentParams& p, uint32_t step, int64_t image) {
  auto words = philox::philox4x32_10(philox::counter_for(uint64_t(image) * 4, step, p.stream),
                                     philox::key_from_seed(p.seed));
  int span = int(2 * p.pad + 1);
  double max_rotation = float(double(p.max_rotation_degrees) * (kPi / 180.0));
  return {int(words[0] % uint32_t(span)) - int(p.pad), int(words[1] % uint32_t(span)) - int(p.pad),
          p.flip && (words[2] >> 31) != 0,
          max_rotation * (2.0 * double(philox::uniform(words[3])) - 1.0)};
}

// The value of pixels from outside the image in channel ch, as AugmentParams::fill documents it.
double fill_of(const AugmentParams& p, int64_t ch) {
  if (p.fill.empty()) return 0.0;
  return p.fill.size() == 1 ? p.fill[0] : p.fill[size_t(ch)];
}

// Crop and flip only: what the kernel computed before rotation existed, an exact integer copy.
std::vector<double> crop_flip_reference(const std::vector<float>& x, const Shape& s,
                                        const AugmentParams& p, uint32_t step) {
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  std::vector<double> y(x.size());
  for (int64_t image = 0; image < n; ++image) {
    Draw d = draw(p, step, image);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col) {
          int64_t sr = r + d.dy, sc = (d.flip ? w - 1 - col : col) + d.dx;
          double v = fill_of(p, ch);
          if (sr >= 0 && sr < h && sc >= 0 && sc < w)
            v = x[size_t(((image * c + ch) * h + sr) * w + sc)];
          y[size_t(((image * c + ch) * h + r) * w + col)] = v;
        }
  }
  return y;
}

// The full transform in float64: the crop-and-flip image rotated by the drawn angle about its
// centre (counter-clockwise as displayed, rows pointing down). Output pixel (r, col) takes the
// source position that the rotation carries onto it, sampled bilinearly with the fill outside.
std::vector<double> reference(const std::vector<float>& x, const Shape& s, const AugmentParams& p,
                              uint32_t step) {
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  double cx = double(w - 1) / 2, cy = double(h - 1) / 2;
  std::vector<double> y(x.size());
  for (int64_t image = 0; image < n; ++image) {
    Draw d = draw(p, step, image);
    double cos_a = std::cos(d.angle), sin_a = std::sin(d.angle);
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* plane = &x[size_t((image * c + ch) * h * w)];
      auto texel = [&](int64_t r, int64_t col) {
        return r >= 0 && r < h && col >= 0 && col < w ? double(plane[r * w + col]) : fill_of(p, ch);
      };
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col) {
          // Rotating by +a maps source offset (u, v) to (u cos a + v sin a, -u sin a + v cos a);
          // its inverse takes the output offset back to the crop-and-flip image.
          double u = double(col) - cx, v = double(r) - cy;
          double su = cos_a * u - sin_a * v, sv = sin_a * u + cos_a * v;
          double sx = (d.flip ? cx - su : cx + su) + d.dx, sy = cy + sv + d.dy;
          double x0 = std::floor(sx), y0 = std::floor(sy), tx = sx - x0, ty = sy - y0;
          auto r0 = int64_t(y0), c0 = int64_t(x0);
          y[size_t(((image * c + ch) * h + r) * w + col)] =
              (1 - ty) * ((1 - tx) * texel(r0, c0) + tx * texel(r0, c0 + 1)) +
              ty * ((1 - tx) * texel(r0 + 1, c0) + tx * texel(r0 + 1, c0 + 1));
        }
    }
  }
  return y;
}

// Tolerance of the rotated output, absolute, inputs in [0, 1). The kernel forms the sample position
// in float32 from coordinates below 16 (a few roundings of <= 2^-20 each) and a float32 angle
// (<= 2^-22 rad, times a radius below 9): the position is off by at most ~4e-6 pixel. Bilinear
// sampling of the zero-extended image is continuous, with slope below 1 per pixel along each axis
// (neighbours differ by less than 1, a fill in [0, 1] included), so the value is off by at most ~8e-6
// plus the weights' rounding; where floor() of a position near an integer differs between the GPU
// and the CPU, continuity means both interpolate to the same value, so no pixel is exempted.
constexpr double kRotationTolerance = 1e-5;

// Max |gpu − ref| within `tolerance`; a NaN (an element the kernel never wrote over the poison)
// counts as infinitely wrong.
void check_max_abs(Context& ctx, const std::string& label, std::span<const float> gpu,
                   std::span<const double> ref, double tolerance) {
  double worst = 0;
  size_t worst_index = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    double error =
        std::isfinite(gpu[i]) ? std::abs(gpu[i] - ref[i]) : std::numeric_limits<double>::infinity();
    if (error > worst) worst = error, worst_index = i;
  }
  ctx.check_that(label, gpu.size() == ref.size() && worst <= tolerance, worst, tolerance,
                 "max abs error, at element " + std::to_string(worst_index));
}

std::vector<uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<uint32_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(),
                 [](float v) { return std::bit_cast<uint32_t>(v); });
  return bits;
}

Tensor step_tensor(const Device& device, uint32_t value) {
  uint32_t step_value[] = {value};
  return Tensor::from_host(device, std::span<const uint32_t>(step_value), {1});
}

}  // namespace

// max_rotation_degrees = 0 (the default): exactly the crop and flip the kernel did before rotation.
VKT_CASE("augment", "crop_and_flip") {
  const Shape shape{37, 3, 9, 11};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)));
  Tensor tx = ctx.upload(x, shape);
  Tensor step = step_tensor(ctx.device, 5);
  AugmentParams params{.pad = 3, .flip = true, .seed = ctx.seed, .stream = 4};
  Tensor y = ctx.poisoned(shape);
  augment_forward(tx, step, y, params);
  ctx.check("", shapes({shape}), y.to_host(), crop_flip_reference(x, shape, params, 5), 0.0);
  // Another step moves the images differently; the same step reproduces them.
  increment(step);
  Tensor y6 = ctx.poisoned(shape);
  augment_forward(tx, step, y6, params);
  ctx.check("next_step", shapes({shape}), y6.to_host(), crop_flip_reference(x, shape, params, 6),
            0.0);
  ctx.check_error("alias", [&] { augment_forward(tx, step, tx, params); },
                  {"augment_forward", "alias"});
  ctx.check_error("pad", [&] { augment_forward(tx, step, y, {.pad = 9}); },
                  {"augment_forward", "pad 9"});
}

// Crop, flip and rotation in one pass against the float64 reference, on odd sizes, over several
// steps (24 draws each), for a small maximum and for the full [-180, 180) (angles past 90 degrees).
VKT_CASE("augment", "rotation") {
  const Shape shape{3, 2, 13, 11};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), 0.0f, 1.0f);
  Tensor tx = ctx.upload(x, shape);
  for (float degrees : {35.0f, 180.0f}) {
    AugmentParams params{
        .pad = 2, .flip = true, .max_rotation_degrees = degrees, .seed = ctx.seed, .stream = 4};
    Tensor step = step_tensor(ctx.device, 5);
    for (uint32_t at = 5; at < 13; ++at) {
      Tensor y = ctx.poisoned(shape);
      augment_forward(tx, step, y, params);
      check_max_abs(ctx, "max" + std::to_string(int(degrees)) + "/step" + std::to_string(at),
                    y.to_host(), reference(x, shape, params, at), kRotationTolerance);
      increment(step);
    }
  }
}

// The angles, decoded from the GPU's output: each image holds the ramps u = w − cx (channel 0) and
// v = h − cy (channel 1), which bilinear sampling reproduces exactly inside the image. With no
// crop or flip, the output one pixel right of the centre holds the source offset the rotation
// carried there, (cos a, sin a), so a = atan2(channel 1, channel 0). The angles must match the
// CPU's draw, lie in [-max, max] and spread over it evenly.
VKT_CASE("augment", "rotation_angles") {
  const int64_t n = 4096, size = 7, centre = 3;
  const Shape shape{n, 2, size, size};
  std::vector<float> ramps(size_t(shape_numel(shape)));
  for (int64_t image = 0; image < n; ++image)
    for (int64_t r = 0; r < size; ++r)
      for (int64_t col = 0; col < size; ++col) {
        ramps[size_t(((image * 2 + 0) * size + r) * size + col)] = float(col - centre);
        ramps[size_t(((image * 2 + 1) * size + r) * size + col)] = float(r - centre);
      }
  Tensor tx = ctx.upload(ramps, shape);
  Tensor step = step_tensor(ctx.device, 3);
  for (float degrees : {12.5f, 180.0f}) {
    const std::string label = degrees == 180.0f ? "max180" : "max12.5";
    AugmentParams params{
        .pad = 0, .flip = false, .max_rotation_degrees = degrees, .seed = ctx.seed, .stream = 9};
    Tensor y = ctx.poisoned(shape);
    augment_forward(tx, step, y, params);
    std::vector<float> out = y.to_host();
    const double max_rotation = degrees * kPi / 180;
    constexpr int kBins = 8;
    std::vector<int> histogram(kBins, 0);
    double lowest = max_rotation, highest = -max_rotation, worst_mismatch = 0, worst_outside = 0;
    for (int64_t image = 0; image < n; ++image) {
      size_t right_of_centre = size_t(centre * size + centre + 1);
      double cos_a = out[size_t(image * 2 * size * size) + right_of_centre];
      double sin_a = out[size_t((image * 2 + 1) * size * size) + right_of_centre];
      double angle = std::atan2(sin_a, cos_a);
      double mismatch = std::remainder(angle - draw(params, 3, image).angle, 2 * kPi);
      worst_mismatch = std::max(worst_mismatch, std::isfinite(angle) ? std::abs(mismatch) : 1e9);
      worst_outside = std::max(worst_outside, std::abs(angle) - max_rotation);
      lowest = std::min(lowest, angle);
      highest = std::max(highest, angle);
      int bin = int((angle + max_rotation) / (2 * max_rotation) * kBins);
      ++histogram[size_t(std::clamp(bin, 0, kBins - 1))];
    }
    ctx.check_that(label + "/matches_cpu_draw", worst_mismatch <= 1e-5, worst_mismatch, 1e-5,
                   "radians");
    ctx.check_that(label + "/within_range", worst_outside <= 1e-5, worst_outside, 1e-5,
                   "radians past the maximum");
    // The extremes of 4096 uniform draws lie within 20/4096 of the span of its ends, but for e^-20.
    double reach = 2 * max_rotation * 20.0 / double(n);
    double gap = std::max(lowest + max_rotation, max_rotation - highest);
    ctx.check_that(label + "/reaches_both_ends", gap <= reach, gap, reach, "radians short of ±max");
    // 512 expected per bin, standard deviation ~21: ±30% is 7 deviations.
    int fewest = *std::min_element(histogram.begin(), histogram.end());
    int most = *std::max_element(histogram.begin(), histogram.end());
    double spread = std::max(512.0 - fewest, most - 512.0) / 512.0;
    ctx.check_that(label + "/even_spread", spread <= 0.3, spread, 0.3,
                   "largest relative bin deviation");
  }
}

// Reproducible by seed: the same (seed, stream, step) gives the same bits, another seed other
// images.
VKT_CASE("augment", "rotation_reproducible") {
  const Shape shape{5, 3, 9, 13};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), 0.0f, 1.0f);
  Tensor tx = ctx.upload(x, shape);
  Tensor step = step_tensor(ctx.device, 11);
  AugmentParams params{
      .pad = 1, .flip = true, .max_rotation_degrees = 10.0f, .seed = ctx.seed, .stream = 2};
  auto run = [&](const AugmentParams& p) {
    Tensor y = ctx.poisoned(shape);
    augment_forward(tx, step, y, p);
    return y.to_host();
  };
  std::vector<float> first = run(params), again = run(params);
  ctx.check_equal("same_seed", shapes({shape}), bits_of(again), bits_of(first));
  AugmentParams other = params;
  other.seed = ctx.seed + 1;
  std::vector<float> other_images = run(other);
  size_t differing = 0;
  for (size_t i = 0; i < first.size(); ++i) differing += first[i] != other_images[i];
  double fraction = double(differing) / double(first.size());
  ctx.check_that("other_seed", fraction > 0.5, fraction, 0.5, "fraction of pixels that changed");
}

// The fill outside the image: one value per channel, and one value for every channel, exact for
// crop and flip and to the rotation tolerance with rotation (fills in [0, 1], as the inputs).
VKT_CASE("augment", "fill") {
  const Shape shape{19, 3, 9, 11};
  std::vector<float> x = ctx.uniform(size_t(shape_numel(shape)), 0.0f, 1.0f);
  Tensor tx = ctx.upload(x, shape);
  Tensor step = step_tensor(ctx.device, 2);
  for (const std::vector<float>& fill :
       {std::vector<float>{-0.8125f, 0.25f, 1.75f}, std::vector<float>{-2.5f}}) {
    std::string label = fill.size() == 1 ? "one_value" : "per_channel";
    AugmentParams params{.pad = 3, .flip = true, .seed = ctx.seed, .stream = 6, .fill = fill};
    Tensor y = ctx.poisoned(shape);
    augment_forward(tx, step, y, params);
    ctx.check(label, shapes({shape}), y.to_host(), crop_flip_reference(x, shape, params, 2), 0.0);
  }
  AugmentParams rotated{.pad = 2,
                        .flip = true,
                        .max_rotation_degrees = 40.0f,
                        .seed = ctx.seed,
                        .stream = 6,
                        .fill = {0.125f, 0.5f, 1.0f}};
  Tensor y = ctx.poisoned(shape);
  augment_forward(tx, step, y, rotated);
  check_max_abs(ctx, "rotation_per_channel", y.to_host(), reference(x, shape, rotated, 2),
                kRotationTolerance);
  // One value serves more channels than the per-channel limit.
  const Shape wide{2, 17, 5, 5};
  std::vector<float> xw = ctx.uniform(size_t(shape_numel(wide)), 0.0f, 1.0f);
  Tensor txw = ctx.upload(xw, wide);
  AugmentParams one{.pad = 2, .flip = false, .seed = ctx.seed, .stream = 1, .fill = {0.5f}};
  Tensor yw = ctx.poisoned(wide);
  augment_forward(txw, step, yw, one);
  ctx.check("wide_one_value", shapes({wide}), yw.to_host(), crop_flip_reference(xw, wide, one, 2), 0.0);
  ctx.check_error("wrong_count", [&] { augment_forward(tx, step, y, {.fill = {0.0f, 1.0f}}); },
                  {"augment_forward", "fill", "2 values", "(19, 3, 9, 11)"});
  std::vector<float> seventeen(17, 0.0f);
  ctx.check_error("too_many_channels",
                  [&] { augment_forward(txw, step, yw, {.fill = seventeen}); },
                  {"augment_forward", "fill", "at most 16", "17 values"});
}

VKT_CASE("augment", "rotation_bad_params") {
  const Shape shape{2, 1, 5, 5};
  Tensor tx = ctx.upload(ctx.uniform(size_t(shape_numel(shape))), shape);
  Tensor y = ctx.poisoned(shape);
  Tensor step = step_tensor(ctx.device, 0);
  auto with_max = [&](float degrees) {
    return [&, degrees] { augment_forward(tx, step, y, {.max_rotation_degrees = degrees}); };
  };
  ctx.check_error("negative", with_max(-1.0f), {"augment_forward", "max_rotation_degrees", "-1"});
  ctx.check_error("above_180", with_max(180.5f),
                  {"augment_forward", "max_rotation_degrees", "180.5"});
  ctx.check_error("nan", with_max(std::numeric_limits<float>::quiet_NaN()),
                  {"augment_forward", "max_rotation_degrees", "nan"});
}
