// Dropout and DropConnect (inverted), forward and backward: one kernel (shaders/dropout.comp) that
// regenerates the Philox mask from (seed, stream, step, index) wherever it is needed.
#include <cmath>
#include <cstddef>

#include "ops/launch.hpp"
#include "vktrain/philox.hpp"

namespace vkt {

using namespace detail;

namespace {

// Elements per tensor: the kernels index blocks of four with 32-bit integers.
constexpr int64_t kMaxElements = 0xFFFFFFFCLL;

void check_step(const Tensor& step, const char* op) {
  require_dtype(step, DType::u32, op, "step");
  VKT_REQUIRE(step.numel() == 1, op,
              "step must be a uint32 tensor of one element, got shape " + shape_str(step.shape()));
}

// src -> dst through the mask (or a copy when the mask keeps everything). `src_name`/`dst_name`
// name the tensors in errors: x/y, dy/dx, weight/out, d_out/d_weight.
void apply_mask(const char* op, const Tensor& src, const Tensor& step, const Tensor& dst,
                const DropoutParams& params, const char* src_name, const char* dst_name) {
  require_dtype(src, DType::f32, op, src_name);
  require_dtype(dst, DType::f32, op, dst_name);
  check_step(step, op);
  require_same_shape(src, dst, op, src_name, dst_name);
  require_same_device(src, dst, op);
  require_same_device(src, step, op);
  VKT_REQUIRE(params.p >= 0.0f && params.p <= 1.0f, op,
              "p must be in [0, 1], got " + std::to_string(params.p));
  VKT_REQUIRE(src.numel() <= kMaxElements, op,
              "at most 2^32 - 4 elements, got shape " + shape_str(src.shape()));
  if (src.numel() == 0) return;
  if (!params.training || params.p == 0.0f) {  // identity, as torch returns the input
    if (!src.same_storage(dst)) copy(src, dst);
    return;
  }
  uint32_t n = uint32_t(src.numel());
  // p = 1 keeps nothing (threshold 2^16 exceeds every 16-bit value) and scales by 0, not 1/0.
  // Two blocks of four per invocation: one Philox block gives eight 16-bit mask values.
  struct Push {
    uint32_t n, seed_lo, seed_hi, stream, threshold;
    float scale;
    uint32_t block0;  // the windowed variant's first block, set per dispatch
  } push{n,
         uint32_t(params.seed),
         uint32_t(params.seed >> 32),
         params.stream,
         philox::dropout_threshold(params.p),
         philox::dropout_scale(params.p),
         0};
  uint32_t vec4 = vec4_whole(n, {src, dst});
  dispatch_fours({"dropout", {kElementwiseGroup, vec4}}, "dropout_windows",
                 {in(src), in(step), out(dst)}, {src}, n, push, vec4, kElementwiseGroup,
                 int(offsetof(Push, block0)), 2);
}

}  // namespace

void dropout_forward(const Tensor& x, const Tensor& step, const Tensor& y,
                     const DropoutParams& params) {
  apply_mask("dropout", x, step, y, params, "x", "y");
}

void dropout_backward(const Tensor& dy, const Tensor& step, const Tensor& dx,
                      const DropoutParams& params) {
  apply_mask("dropout", dy, step, dx, params, "dy", "dx");
}

Tensor dropout(const Tensor& x, const Tensor& step, const DropoutParams& params) {
  require_defined(x, "dropout", "x");
  Tensor y = Tensor::empty(x.device(), x.shape());
  dropout_forward(x, step, y, params);
  return y;
}

void drop_connect_forward(const Tensor& weight, const Tensor& step, const Tensor& out,
                          const DropoutParams& params) {
  apply_mask("drop_connect", weight, step, out, params, "weight", "out");
}

void drop_connect_backward(const Tensor& d_out, const Tensor& step, const Tensor& d_weight,
                           const DropoutParams& params) {
  apply_mask("drop_connect", d_out, step, d_weight, params, "d_out", "d_weight");
}

}  // namespace vkt
