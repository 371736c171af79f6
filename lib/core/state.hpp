// What a Device handle points at: the Vulkan objects of one opened device, in destruction order
// (members are destroyed bottom-up: scheduler, pipelines, allocator, then the device and instance).
#pragma once

#include <volk.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/allocator.hpp"
#include "core/pipelines.hpp"
#include "core/tuner.hpp"
#include "vktrain/device.hpp"
#include "vktrain/ops/kernel.hpp"

namespace vkt::detail {

class VulkanScheduler;

// The instance with its debug messenger; shared by devices opened with the same validation setting.
struct Instance {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  // This instance's own vkDestroyDebugUtilsMessengerEXT (validation only): volk's global one
  // belongs to whichever instance it was loaded from, which may lack VK_EXT_debug_utils.
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger = nullptr;
  bool validation = false;
  std::atomic<uint64_t> messages{0};
  std::mutex last_message_mutex;
  std::string last_message;

  ~Instance();
  static std::shared_ptr<Instance> create(bool validation);
};

struct DeviceState {
  std::weak_ptr<DeviceState> self;
  std::shared_ptr<Instance> instance;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  DeviceInfo info;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkQueue queue = VK_NULL_HANDLE;

  std::unique_ptr<Allocator> allocator;
  std::unique_ptr<Pipelines> pipelines;
  std::unique_ptr<Tuner> tuner;
  std::unique_ptr<VulkanScheduler> scheduler;
  // set_matmul_precision: what matmuls leaving the precision to the device use.
  MatmulPrecision matmul_precision = MatmulPrecision::float32;

  DeviceState() = default;
  DeviceState(const DeviceState&) = delete;
  DeviceState& operator=(const DeviceState&) = delete;
  ~DeviceState();
};

// Reads a physical device's properties and optional features into a DeviceInfo.
DeviceInfo query_device_info(VkPhysicalDevice physical, uint32_t index);

}  // namespace vkt::detail
