#include "core/recording.hpp"

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"

namespace vkt::detail {

Recording::Recording(VkDevice device, VkCommandPool pool, bool reusable)
    : device_(device), pool_(pool), reusable_(reusable) {
  VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  info.commandPool = pool_;
  info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  info.commandBufferCount = 1;
  VKT_CHECK(vkAllocateCommandBuffers(device_, &info, &command_buffer_));
}

Recording::~Recording() {
  // A captured sequence may still be executing: wait for its last replay before freeing.
  if (keep_device_alive && owner && last_submitted > 0) {
    try {
      owner->wait(last_submitted);
    } catch (const std::exception&) {
      // The device is lost; freeing is still safe then.
    }
  }
  retained_.clear();
  for (VkDescriptorPool pool : descriptor_pools_) vkDestroyDescriptorPool(device_, pool, nullptr);
  vkFreeCommandBuffers(device_, pool_, 1, &command_buffer_);
}

void Recording::begin() {
  VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  info.flags = reusable_ ? VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT
                         : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VKT_CHECK(vkBeginCommandBuffer(command_buffer_, &info));
  bound_pipeline = VK_NULL_HANDLE;
}

void Recording::end() { VKT_CHECK(vkEndCommandBuffer(command_buffer_)); }

void Recording::reset() {
  retained_.clear();
  for (VkDescriptorPool pool : descriptor_pools_) VKT_CHECK(vkResetDescriptorPool(device_, pool, 0));
  current_pool_ = 0;
  VKT_CHECK(vkResetCommandBuffer(command_buffer_, 0));
  dispatches = barriers = commands = 0;
  end_state.clear();
}

void Recording::retain(const std::shared_ptr<Allocation>& allocation) {
  // Consecutive dispatches often bind the same tensors; skip the obvious repeats.
  if (!retained_.empty() && retained_.back() == allocation) return;
  retained_.push_back(allocation);
}

VkDescriptorSet Recording::allocate_set(VkDescriptorSetLayout layout) {
  constexpr uint32_t kSetsPerPool = 256;
  constexpr uint32_t kBuffersPerSet = 8;
  for (;;) {
    if (current_pool_ == descriptor_pools_.size()) {
      // Uniform buffers: the window arrays of UniformWindows (scheduler_impl.hpp).
      VkDescriptorPoolSize sizes[] = {
          {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBuffersPerSet},
          {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, kSetsPerPool * kBuffersPerSet}};
      VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      info.maxSets = kSetsPerPool;
      info.poolSizeCount = 2;
      info.pPoolSizes = sizes;
      VkDescriptorPool pool;
      VKT_CHECK(vkCreateDescriptorPool(device_, &info, nullptr, &pool));
      descriptor_pools_.push_back(pool);
    }
    VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    info.descriptorPool = descriptor_pools_[current_pool_];
    info.descriptorSetCount = 1;
    info.pSetLayouts = &layout;
    VkDescriptorSet set;
    VkResult result = vkAllocateDescriptorSets(device_, &info, &set);
    if (result == VK_SUCCESS) return set;
    if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL)
      VKT_CHECK(result);
    ++current_pool_;
  }
}

}  // namespace vkt::detail
