// vkt::Tensor: a dense, contiguous, row-major array in device memory.
//
// A tensor owns (shares) a suballocated range of device memory; reshape() and narrow() make views of
// the same memory without copies. Element types: float32 now, with f16/i32/u32 for masks, labels and
// counters (the dtype field is what later precisions extend). Reading a tensor back (to_host) waits
// only for the work that has to finish first; everything else stays asynchronous.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vktrain/device.hpp"

namespace vkt {

enum class DType : uint8_t { f32, f16, i32, u32 };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

namespace detail {
struct Allocation;
}

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Device& device, Shape shape, DType dtype = DType::f32);
  static Tensor zeros(const Device& device, Shape shape, DType dtype = DType::f32);
  static Tensor full(const Device& device, Shape shape, float value);
  static Tensor from_host(const Device& device, std::span<const float> data, Shape shape);
  static Tensor from_host(const Device& device, std::span<const int32_t> data, Shape shape);
  static Tensor from_host(const Device& device, std::span<const uint32_t> data, Shape shape);

  // Copies the contents to the host (waits for the work that writes them). Float32 tensors only;
  // to_host_raw() returns any dtype's bytes.
  std::vector<float> to_host() const;
  std::vector<int32_t> to_host_i32() const;
  std::vector<uint32_t> to_host_u32() const;
  std::vector<uint8_t> to_host_raw() const;
  // Overwrites the contents from the host (an asynchronous upload).
  void upload(std::span<const float> data) const;
  void upload_raw(std::span<const uint8_t> bytes) const;

  // Sets every element to value (a GPU fill; for integer dtypes the value is converted).
  void fill(float value) const;

  // Views sharing memory. reshape: same numel, one dimension may be -1.
  Tensor reshape(Shape shape) const;
  // Elements [start, start + length) along dimension 0.
  Tensor narrow(int64_t start, int64_t length) const;

  bool defined() const { return allocation_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  Device device() const;

  // Internal: where the bytes live.
  const std::shared_ptr<detail::Allocation>& allocation() const { return allocation_; }
  uint64_t byte_offset() const { return byte_offset_; }
  // True when both views cover the same memory.
  bool same_storage(const Tensor& other) const;

  Tensor(std::shared_ptr<detail::DeviceState> device, std::shared_ptr<detail::Allocation> allocation,
         uint64_t byte_offset, Shape shape, DType dtype);

 private:
  std::shared_ptr<detail::DeviceState> device_;
  std::shared_ptr<detail::Allocation> allocation_;
  uint64_t byte_offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

}  // namespace vkt
