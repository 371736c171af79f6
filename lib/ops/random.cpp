// Random fills (uniform, normal, raw words), explicit Philox blocks, and additive Gaussian noise:
// shaders/random.comp, random_philox.comp and noise.comp, on the stream layout of ops/random.hpp.
#include <cmath>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

constexpr int64_t kMaxElements = 0xFFFFFFFCLL;  // 32-bit block indexing, as in dropout.cpp

enum class FillMode : uint32_t { bits = 0, uniform = 1, normal = 2 };

void require_size(const Tensor& t, const char* op) {
  VKT_REQUIRE(t.numel() <= kMaxElements, op,
              "at most 2^32 - 4 elements, got shape " + shape_str(t.shape()));
}

void fill_stream(const Tensor& t, FillMode mode, float a, float b, float upper, uint64_t seed,
                 uint32_t stream, uint32_t step) {
  if (t.numel() == 0) return;
  uint32_t n = uint32_t(t.numel());
  struct {
    uint32_t n, seed_lo, seed_hi, stream, step;
    float a, b, upper;
  } push{n, uint32_t(seed), uint32_t(seed >> 32), stream, step, a, b, upper};
  scheduler_of(t).dispatch({"random", {kElementwiseGroup, uint32_t(mode)}}, {out(t)}, push,
                           grid_fours(n));
}

}  // namespace

void uniform_fill(const Tensor& tensor, float lo, float hi, uint64_t seed, uint32_t stream) {
  require_dtype(tensor, DType::f32, "uniform_fill", "tensor");
  require_size(tensor, "uniform_fill");
  VKT_REQUIRE(
      std::isfinite(lo) && std::isfinite(hi) && std::isfinite(hi - lo) && lo <= hi, "uniform_fill",
      "expects finite lo <= hi, got lo " + std::to_string(lo) + ", hi " + std::to_string(hi));
  // lo + (hi − lo)·u may round up to hi; the clamp keeps the range half-open.
  float upper = lo < hi ? std::nextafter(hi, lo) : hi;
  fill_stream(tensor, FillMode::uniform, lo, hi - lo, upper, seed, stream, 0);
}

void normal_fill(const Tensor& tensor, float mean, float std, uint64_t seed, uint32_t stream) {
  require_dtype(tensor, DType::f32, "normal_fill", "tensor");
  require_size(tensor, "normal_fill");
  VKT_REQUIRE(std::isfinite(mean) && std::isfinite(std) && std >= 0.0f, "normal_fill",
              "expects a finite mean and std >= 0, got mean " + std::to_string(mean) + ", std " +
                  std::to_string(std));
  fill_stream(tensor, FillMode::normal, mean, std, 0.0f, seed, stream, 0);
}

void random_bits_into(const Tensor& out, uint64_t seed, uint32_t stream, uint32_t step) {
  require_dtype(out, DType::u32, "random_bits", "out");
  require_size(out, "random_bits");
  fill_stream(out, FillMode::bits, 0.0f, 0.0f, 0.0f, seed, stream, step);
}

void philox4x32_into(const Tensor& blocks, const Tensor& out) {
  const char* op = "philox4x32";
  require_dtype(blocks, DType::u32, op, "blocks");
  require_dtype(out, DType::u32, op, "out");
  require_same_device(blocks, out, op);
  VKT_REQUIRE(blocks.dim() == 2 && blocks.size(1) == 6, op,
              "blocks must be (n, 6) rows of (counter0..3, key0, key1), got shape " +
                  shape_str(blocks.shape()));
  int64_t n = blocks.size(0);
  VKT_REQUIRE(out.shape() == (Shape{n, 4}), op,
              "out has shape " + shape_str(out.shape()) + ", expected " + shape_str({n, 4}) +
                  " for blocks " + shape_str(blocks.shape()));
  VKT_REQUIRE(n <= 0xFFFFFFFFLL / 6, op, "too many blocks: " + shape_str(blocks.shape()));
  if (n == 0) return;
  struct {
    uint32_t n;
  } push{uint32_t(n)};
  scheduler_of(out).dispatch({"random_philox", {kElementwiseGroup}}, {in(blocks), vkt::out(out)},
                             push, grid_1d(uint64_t(n)));
}

void gaussian_noise_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                            const NoiseParams& params) {
  const char* op = "gaussian_noise";
  require_dtype(x, DType::f32, op, "x");
  require_dtype(y, DType::f32, op, "y");
  require_dtype(step, DType::u32, op, "step");
  VKT_REQUIRE(step.numel() == 1, op,
              "step must be a uint32 tensor of one element, got shape " + shape_str(step.shape()));
  require_same_shape(x, y, op, "x", "y");
  require_same_device(x, y, op);
  require_same_device(x, step, op);
  VKT_REQUIRE(std::isfinite(params.sigma) && params.sigma >= 0.0f, op,
              "sigma must be finite and >= 0, got " + std::to_string(params.sigma));
  require_size(x, op);
  if (x.numel() == 0) return;
  if (!params.training || params.sigma == 0.0f) {
    if (!x.same_storage(y)) copy(x, y);
    return;
  }
  uint32_t n = uint32_t(x.numel());
  struct {
    uint32_t n, seed_lo, seed_hi, stream;
    float sigma;
  } push{n, uint32_t(params.seed), uint32_t(params.seed >> 32), params.stream, params.sigma};
  scheduler_of(x).dispatch({"noise", {kElementwiseGroup}}, {in(x), in(step), out(y)}, push,
                           grid_fours(n));
}

void gaussian_noise_backward(const Tensor& dy, const Tensor& dx) {
  const char* op = "gaussian_noise";
  require_dtype(dy, DType::f32, op, "dy");
  require_dtype(dx, DType::f32, op, "dx");
  require_same_shape(dy, dx, op, "dy", "dx");
  require_same_device(dy, dx, op);
  if (dy.numel() > 0 && !dy.same_storage(dx)) copy(dy, dx);
}

}  // namespace vkt
