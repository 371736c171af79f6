// The device: a Vulkan instance, one physical device, its logical device and compute queue.
//
// A Device is a cheap, copyable handle to shared state; tensors keep their device alive.
// Device::open() picks the best physical device (discrete > integrated > virtual > CPU), or the one
// named by VKTRAIN_DEVICE (an index or a case-insensitive name substring). VKTRAIN_VALIDATION=1
// enables the Khronos validation layer with synchronization validation; every message it prints is
// counted (validation_messages()) so tests can fail on any.
//
// Threading: a Device and the tensors on it belong to one thread at a time. Independent Devices
// may be used from different threads, and opened (or listed) from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vkt {

class Scheduler;
namespace detail {
struct DeviceState;
}

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
};

// What a physical device is and can do; Device::describe() prints it.
struct DeviceInfo {
  uint32_t index = 0;  // position in the loader's enumeration
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  uint32_t vendor_id = 0;
  std::string vendor;  // "NVIDIA", "AMD", "Intel", "Mesa (lavapipe)", ...
  std::string driver;  // driver name and info
  std::string api_version;
  uint32_t subgroup_size = 0;
  uint32_t max_shared_memory = 0;  // bytes per workgroup
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint32_t max_push_constants = 0;
  std::vector<MemoryHeapInfo> heaps;
  // Optional features: enabled when present, never required.
  bool fp16_arithmetic = false;
  bool storage_16bit = false;
  bool float_atomics = false;
  bool subgroup_size_control = false;
  bool cooperative_matrix = false;  // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix
  // VK_NV_cooperative_matrix with 16x16x16 float16 -> float32 subgroup matrices, float16
  // arithmetic and the Vulkan memory model: what shaders/matmul_coopmat.comp needs. Whether
  // matmuls use it is vkt::cooperative_matmul_available (a vendor allowlist).
  bool cooperative_matmul_f16 = false;
  bool timestamp_queries = false;       // the compute queue writes timestamps (valid bits > 0)
  uint32_t timestamp_valid_bits = 0;    // of the compute queue family's timestamps
  bool push_descriptors = false;
  // Arrays of uniform buffers indexed dynamically (uniformly): matmul's packed kernel.
  bool uniform_buffer_windows = false;
  float timestamp_period_ns = 0.0f;
};

struct DeviceOptions {
  // Index or name substring; empty means VKTRAIN_DEVICE, or the best device.
  std::string select;
  // Force validation on or off; unset means VKTRAIN_VALIDATION.
  std::optional<bool> validation;
  // Cap on device memory the allocator may reserve (bytes); 0 means the heap's size. Allocations past
  // it fail as out-of-memory, which lets tests exercise that path without exhausting the machine.
  uint64_t memory_limit = 0;
  // Use pooled descriptor sets even where push descriptors exist (tests the portable path).
  bool disable_push_descriptors = false;
  // Where the pipeline cache is kept; empty means $XDG_CACHE_HOME/vktrain or ~/.cache/vktrain.
  // "none" disables the on-disk cache.
  std::string cache_dir;
  // Time interchangeable kernels (vktrain/ops/kernel.hpp) once per problem class and use the
  // fastest; choices are saved in the cache directory. Results are identical either way; only
  // the first call of each class is slower. Unset means VKTRAIN_AUTOTUNE (1 on, else off).
  std::optional<bool> autotune;
};

class Device {
 public:
  // Opens the chosen device. Throws vkt::Error when no Vulkan device exists or the selection
  // matches none (the message lists the devices).
  static Device open(const DeviceOptions& options = {});
  // Every physical device the loader reports, in enumeration order.
  static std::vector<DeviceInfo> list();

  const DeviceInfo& info() const;
  // A multi-line, human-readable report of info().
  std::string describe() const;
  // The device's command scheduler (one per device).
  Scheduler& scheduler() const;
  // Waits until all submitted work is done.
  void synchronize() const;
  // Whether kernels are autotuned on this device (DeviceOptions::autotune).
  bool autotune() const;

  // Validation messages (errors and warnings) seen since the device was opened.
  uint64_t validation_messages() const;
  // The text of the most recent validation message.
  std::string last_validation_message() const;
  bool validation_enabled() const;

  // Bytes of device memory reserved in blocks, and bytes handed out to live tensors.
  uint64_t memory_reserved() const;
  uint64_t memory_in_use() const;

  detail::DeviceState& state() const { return *state_; }
  const std::shared_ptr<detail::DeviceState>& shared_state() const { return state_; }
  explicit Device(std::shared_ptr<detail::DeviceState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<detail::DeviceState> state_;
};

// Human-readable form of a DeviceInfo (what Device::describe() returns).
std::string describe(const DeviceInfo& info);

}  // namespace vkt
