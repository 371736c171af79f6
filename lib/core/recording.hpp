// A command buffer being (or having been) recorded, with what it keeps alive until the GPU is done:
// the allocations it binds and, on devices without push descriptors, its descriptor pools.
#pragma once

#include <volk.h>

#include <memory>
#include <vector>

#include "core/allocator.hpp"
#include "core/hazard.hpp"

namespace vkt::detail {

class VulkanScheduler;

class Recording {
 public:
  Recording(VkDevice device, VkCommandPool pool, bool reusable);
  ~Recording();
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  // Starts recording (after reset() for a recycled one).
  void begin();
  void end();
  // Drops everything kept alive and resets the command buffer and pools for reuse.
  void reset();

  void retain(const std::shared_ptr<Allocation>& allocation);
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);

  VkCommandBuffer command_buffer() const { return command_buffer_; }
  bool reusable() const { return reusable_; }

  VkPipeline bound_pipeline = VK_NULL_HANDLE;
  uint64_t dispatches = 0;
  uint64_t barriers = 0;
  uint64_t commands = 0;   // dispatches and transfers since begin()
  uint64_t last_submitted = 0;  // timeline value of the latest submission
  HazardTracker end_state;      // for captured sequences: the accesses after the last barrier
  VulkanScheduler* owner = nullptr;
  std::shared_ptr<void> keep_device_alive;  // captured sequences keep their device alive

 private:
  VkDevice device_;
  VkCommandPool pool_;
  VkCommandBuffer command_buffer_ = VK_NULL_HANDLE;
  bool reusable_;
  std::vector<std::shared_ptr<Allocation>> retained_;
  std::vector<VkDescriptorPool> descriptor_pools_;
  size_t current_pool_ = 0;
};

}  // namespace vkt::detail
