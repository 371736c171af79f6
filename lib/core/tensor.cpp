#include "vktrain/tensor.hpp"

#include <cstdint>
#include <cstring>

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"
#include "vktrain/ops.hpp"

namespace vkt {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::i32: return 4;
    case DType::u32: return 4;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::i32: return "int32";
    case DType::u32: return "uint32";
  }
  return "?";
}

namespace {

// The product of `shape`'s dimensions, false when it does not fit in int64. A zero dimension makes
// it 0 whatever the others are, so (0, 2^62, 4) is a valid empty shape.
bool exact_numel(const Shape& shape, int64_t* numel) {
  for (int64_t d : shape)
    if (d == 0) {
      *numel = 0;
      return true;
    }
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return false;
  *numel = n;
  return true;
}

// The element count of a new shape (non-negative dimensions), checked so that it and its size in
// bytes fit in int64: anything larger would wrap to a small tensor claiming the huge shape.
int64_t checked_numel(const Shape& shape, DType dtype, const char* op) {
  int64_t numel = 0;
  VKT_REQUIRE(exact_numel(shape, &numel), op,
              "shape " + shape_str(shape) + " has more than 2^63 - 1 elements");
  VKT_REQUIRE(
      numel <= INT64_MAX / int64_t(dtype_size(dtype)), op,
      "shape " + shape_str(shape) + " of " + dtype_name(dtype) + " is more than 2^63 - 1 bytes");
  return numel;
}

}  // namespace

int64_t shape_numel(const Shape& shape) {
  int64_t numel = 0;
  VKT_REQUIRE(exact_numel(shape, &numel), "shape_numel",
              "shape " + shape_str(shape) + " has more than 2^63 - 1 elements");
  return numel;
}

std::string shape_str(const Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

Tensor::Tensor(std::shared_ptr<detail::DeviceState> device,
               std::shared_ptr<detail::Allocation> allocation, uint64_t byte_offset, Shape shape,
               DType dtype)
    : device_(std::move(device)),
      allocation_(std::move(allocation)),
      byte_offset_(byte_offset),
      shape_(std::move(shape)),
      dtype_(dtype) {}

Device Tensor::device() const {
  VKT_REQUIRE(device_, "Tensor::device", "the tensor is undefined");
  return Device(device_);
}

int64_t Tensor::size(int64_t d) const {
  int64_t rank = dim();
  VKT_REQUIRE(d >= -rank && d < rank, "Tensor::size",
              "dimension " + std::to_string(d) + " out of range for shape " + shape_str(shape_));
  return shape_[d < 0 ? d + rank : d];
}

bool Tensor::same_storage(const Tensor& other) const {
  return allocation_ && allocation_ == other.allocation_ && byte_offset_ == other.byte_offset_;
}

Tensor Tensor::empty(const Device& device, Shape shape, DType dtype) {
  for (int64_t d : shape)
    VKT_REQUIRE(d >= 0, "Tensor::empty", "negative dimension in shape " + shape_str(shape));
  uint64_t bytes = uint64_t(checked_numel(shape, dtype, "Tensor::empty")) * dtype_size(dtype);
  detail::DeviceState& state = device.state();
  std::shared_ptr<detail::Allocation> allocation;
  try {
    allocation = state.allocator->allocate(bytes, detail::MemoryKind::device, "Tensor::empty");
  } catch (const Error& error) {
    // Memory held by submitted work comes back when that work is done: wait for it, then retry.
    if (!error.out_of_memory() || state.scheduler->capturing()) throw;
    state.scheduler->synchronize();
    allocation = state.allocator->allocate(bytes, detail::MemoryKind::device, "Tensor::empty");
  }
  return Tensor(device.shared_state(), std::move(allocation), 0, std::move(shape), dtype);
}

Tensor Tensor::zeros(const Device& device, Shape shape, DType dtype) {
  Tensor tensor = empty(device, std::move(shape), dtype);
  tensor.fill(0.0f);
  return tensor;
}

Tensor Tensor::full(const Device& device, Shape shape, float value) {
  Tensor tensor = empty(device, std::move(shape));
  tensor.fill(value);
  return tensor;
}

namespace {

template <class T>
Tensor from_host_typed(const Device& device, std::span<const T> data, Shape shape, DType dtype) {
  for (int64_t d : shape)
    VKT_REQUIRE(d >= 0, "Tensor::from_host", "negative dimension in shape " + shape_str(shape));
  int64_t numel = checked_numel(shape, dtype, "Tensor::from_host");
  VKT_REQUIRE(int64_t(data.size()) == numel, "Tensor::from_host",
              std::to_string(data.size()) + " values given for shape " + shape_str(shape) +
                  " (expected " + std::to_string(numel) + ")");
  Tensor tensor = Tensor::empty(device, std::move(shape), dtype);
  device.state().scheduler->upload(tensor, data.data(), data.size_bytes());
  return tensor;
}

template <class T>
std::vector<T> to_host_typed(const Tensor& tensor, DType dtype, const char* op) {
  VKT_REQUIRE(tensor.defined(), op, "the tensor is undefined");
  VKT_REQUIRE(tensor.dtype() == dtype, op,
              std::string("the tensor is ") + dtype_name(tensor.dtype()) + ", expected " +
                  dtype_name(dtype));
  std::vector<T> values(size_t(tensor.numel()));
  tensor.device().state().scheduler->download(tensor, values.data(), tensor.nbytes());
  return values;
}

}  // namespace

Tensor Tensor::from_host(const Device& device, std::span<const float> data, Shape shape) {
  return from_host_typed(device, data, std::move(shape), DType::f32);
}
Tensor Tensor::from_host(const Device& device, std::span<const int32_t> data, Shape shape) {
  return from_host_typed(device, data, std::move(shape), DType::i32);
}
Tensor Tensor::from_host(const Device& device, std::span<const uint32_t> data, Shape shape) {
  return from_host_typed(device, data, std::move(shape), DType::u32);
}

std::vector<float> Tensor::to_host() const { return to_host_typed<float>(*this, DType::f32, "to_host"); }
std::vector<int32_t> Tensor::to_host_i32() const {
  return to_host_typed<int32_t>(*this, DType::i32, "to_host_i32");
}
std::vector<uint32_t> Tensor::to_host_u32() const {
  return to_host_typed<uint32_t>(*this, DType::u32, "to_host_u32");
}
std::vector<uint8_t> Tensor::to_host_raw() const {
  VKT_REQUIRE(defined(), "to_host_raw", "the tensor is undefined");
  std::vector<uint8_t> bytes(nbytes());
  device().state().scheduler->download(*this, bytes.data(), bytes.size());
  return bytes;
}

void Tensor::upload(std::span<const float> data) const {
  VKT_REQUIRE(dtype_ == DType::f32, "upload",
              std::string("float data given for a ") + dtype_name(dtype_) + " tensor");
  upload_raw({reinterpret_cast<const uint8_t*>(data.data()), data.size_bytes()});
}

void Tensor::upload_raw(std::span<const uint8_t> bytes) const {
  VKT_REQUIRE(defined(), "upload", "the tensor is undefined");
  device().state().scheduler->upload(*this, bytes.data(), bytes.size());
}

void Tensor::fill(float value) const { vkt::fill(*this, value); }

Tensor Tensor::reshape(Shape shape) const {
  int64_t inferred = -1;
  Shape given;  // the dimensions other than -1
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      VKT_REQUIRE(inferred < 0, "reshape", "more than one -1 in " + shape_str(shape));
      inferred = int64_t(i);
    } else {
      VKT_REQUIRE(shape[i] >= 0, "reshape", "negative dimension in " + shape_str(shape));
      given.push_back(shape[i]);
    }
  }
  int64_t known = 0;
  VKT_REQUIRE(exact_numel(given, &known), "reshape",
              "shape " + shape_str(shape) + " has more than 2^63 - 1 elements");
  if (inferred >= 0) {
    VKT_REQUIRE(known > 0 && numel() % known == 0, "reshape",
                "cannot infer -1 in " + shape_str(shape) + " for " + shape_str(shape_));
    shape[size_t(inferred)] = numel() / known;
  }
  VKT_REQUIRE(shape_numel(shape) == numel(), "reshape",
              "shape " + shape_str(shape) + " has " + std::to_string(shape_numel(shape)) +
                  " elements, the tensor " + shape_str(shape_) + " has " + std::to_string(numel()));
  return Tensor(device_, allocation_, byte_offset_, std::move(shape), dtype_);
}

Tensor Tensor::narrow(int64_t start, int64_t length) const {
  VKT_REQUIRE(dim() >= 1, "narrow", "a 0-d tensor has no dimension 0");
  int64_t end = 0;
  bool overflows = __builtin_add_overflow(start, length, &end);
  VKT_REQUIRE(start >= 0 && length >= 0 && !overflows && end <= shape_[0], "narrow",
              "rows [" + std::to_string(start) + ", " +
                  (overflows ? std::to_string(start) + " + " + std::to_string(length)
                             : std::to_string(end)) +
                  ") outside dimension 0 of " + shape_str(shape_));
  int64_t row = shape_numel(shape_) / std::max<int64_t>(shape_[0], 1);
  Shape shape = shape_;
  shape[0] = length;
  return Tensor(device_, allocation_, byte_offset_ + uint64_t(start * row) * dtype_size(dtype_),
                std::move(shape), dtype_);
}

}  // namespace vkt
