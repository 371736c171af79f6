// Random translation (crop of the padded image), horizontal flip and small rotation on the
// GPU.
#include <algorithm>
#include <sstream>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

void augment_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                     const AugmentParams& params) {
  const char* op = "augment_forward";
  require_dtype(x, DType::f32, op, "x");
  require_dtype(y, DType::f32, op, "y");
  require_dtype(step, DType::u32, op, "step");
  VKT_REQUIRE(x.dim() == 4, op, "x must be (N, C, H, W), got " + shape_str(x.shape()));
  require_same_shape(x, y, op, "x", "y");
  VKT_REQUIRE(step.numel() == 1, op, "step must have one element, got " + shape_str(step.shape()));
  VKT_REQUIRE(!x.same_storage(y), op, "y must not alias x (pixels move)");
  VKT_REQUIRE(int64_t(params.pad) < x.size(2) && int64_t(params.pad) < x.size(3), op,
              "pad " + std::to_string(params.pad) + " must be smaller than the image " +
                  shape_str(x.shape()));
  // Written as a negated range test so NaN fails it too.
  if (!(params.max_rotation_degrees >= 0.0f && params.max_rotation_degrees <= 180.0f)) {
    std::ostringstream value;
    value << params.max_rotation_degrees;
    throw_arg_error(op, "max_rotation_degrees must be in [0, 180], got " + value.str());
  }
  const size_t fills = params.fill.size();
  VKT_REQUIRE(fills <= 1 || (int64_t(fills) == x.size(1) && fills <= kAugmentMaxFillChannels), op,
              "fill must hold 0, 1 or one value per channel (at most " +
                  std::to_string(kAugmentMaxFillChannels) + "), got " + std::to_string(fills) +
                  " values for x " + shape_str(x.shape()));
  struct {
    uint32_t n, channels, height, width, seed_lo, seed_hi, stream, pad, flip;
    float max_rotation;  // radians
    uint32_t fill_count;
    float fill[kAugmentMaxFillChannels];
  } push{uint32_t(x.size(0)),
         uint32_t(x.size(1)),
         uint32_t(x.size(2)),
         uint32_t(x.size(3)),
         uint32_t(params.seed),
         uint32_t(params.seed >> 32),
         params.stream,
         params.pad,
         params.flip ? 1u : 0u,
         float(double(params.max_rotation_degrees) * (3.14159265358979323846 / 180.0)),
         uint32_t(std::max<size_t>(fills, 1)),
         {}};
  std::copy(params.fill.begin(), params.fill.end(), push.fill);
  scheduler_of(x).dispatch({"augment", {kElementwiseGroup}}, {in(x), in(step), out(y)}, push,
                           grid_1d(x.numel()));
}

}  // namespace vkt
