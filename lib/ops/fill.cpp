// fill, copy, clone and the step-counter increment.
#include <cstring>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

void fill(const Tensor& tensor, float value) {
  require_defined(tensor, "fill", "tensor");
  VKT_REQUIRE(tensor.dtype() != DType::f16, "fill", "float16 tensors are not supported yet");
  if (tensor.numel() == 0) return;
  uint32_t bits = 0;
  if (tensor.dtype() == DType::f32) std::memcpy(&bits, &value, 4);
  else if (tensor.dtype() == DType::i32) bits = uint32_t(int32_t(value));
  else bits = uint32_t(value);
  struct {
    uint32_t n, bits;
  } push{uint32_t(tensor.numel()), bits};
  scheduler_of(tensor).dispatch({"fill", {kElementwiseGroup}}, {out(tensor)}, push,
                                grid_1d(tensor.numel()));
}

void copy(const Tensor& src, const Tensor& dst) {
  require_defined(src, "copy", "src");
  require_defined(dst, "copy", "dst");
  require_same_device(src, dst, "copy");
  scheduler_of(src).copy(src, dst);
}

Tensor clone(const Tensor& tensor) {
  require_defined(tensor, "clone", "tensor");
  Tensor result = Tensor::empty(tensor.device(), tensor.shape(), tensor.dtype());
  if (tensor.numel() > 0) copy(tensor, result);
  return result;
}

void increment(const Tensor& counter) {
  require_dtype(counter, DType::u32, "increment", "counter");
  VKT_REQUIRE(counter.numel() == 1, "increment",
              "counter must have one element, got shape " + shape_str(counter.shape()));
  Arg args[] = {inout(counter)};
  scheduler_of(counter).dispatch({"increment", {}}, args, nullptr, 0, {1, 1, 1});
}

}  // namespace vkt
