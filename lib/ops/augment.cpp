// Random translation (crop of the zero-padded image) and horizontal flip on the GPU.
#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

void augment_forward(const Tensor& x, const Tensor& step, const Tensor& y, const AugmentParams& params) {
  const char* op = "augment";
  require_dtype(x, DType::f32, op, "x");
  require_dtype(y, DType::f32, op, "y");
  require_dtype(step, DType::u32, op, "step");
  VKT_REQUIRE(x.dim() == 4, op, "x must be (N, C, H, W), got " + shape_str(x.shape()));
  require_same_shape(x, y, op, "x", "y");
  VKT_REQUIRE(step.numel() == 1, op, "step must have one element, got " + shape_str(step.shape()));
  VKT_REQUIRE(!x.same_storage(y), op, "y must not alias x (pixels move)");
  VKT_REQUIRE(int64_t(params.pad) < x.size(2) && int64_t(params.pad) < x.size(3), op,
              "pad " + std::to_string(params.pad) + " must be smaller than the image " + shape_str(x.shape()));
  struct {
    uint32_t n, channels, height, width, seed_lo, seed_hi, stream, pad, flip;
  } push{uint32_t(x.size(0)), uint32_t(x.size(1)), uint32_t(x.size(2)), uint32_t(x.size(3)),
         uint32_t(params.seed), uint32_t(params.seed >> 32), params.stream, params.pad, params.flip ? 1u : 0u};
  scheduler_of(x).dispatch({"augment", {kElementwiseGroup}}, {in(x), in(step), out(y)}, push,
                           grid_1d(x.numel()));
}

}  // namespace vkt
