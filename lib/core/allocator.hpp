// Suballocating device-memory allocator.
//
// Memory is reserved in large blocks (one VkDeviceMemory and one VkBuffer spanning it), and tensors
// get aligned ranges of a block; freed ranges coalesce and are reused. Requests of half a block or
// more get a block of their own. Three kinds of memory: device-local for tensors, host-visible
// coherent for uploads, host-visible cached for read-back. Host-visible blocks stay mapped.
#pragma once

#include <volk.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace vkt::detail {

enum class MemoryKind : uint8_t { device, upload, readback };

class Allocator;

struct Block {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  VkDeviceSize used = 0;
  uint8_t* mapped = nullptr;
  MemoryKind kind = MemoryKind::device;
  bool dedicated = false;
  std::map<VkDeviceSize, VkDeviceSize> free_ranges;  // offset -> size, coalesced
};

// One live range of a block. Freed (returned to its block) when the last owner lets go; the
// scheduler owns a reference while the GPU may still use it.
struct Allocation {
  Allocator* allocator = nullptr;
  Block* block = nullptr;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;

  Allocation() = default;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  ~Allocation();

  VkBuffer buffer() const { return block->buffer; }
  uint8_t* mapped() const { return block->mapped ? block->mapped + offset : nullptr; }
};

struct AllocatorLimits {
  VkDeviceSize max_allocation = 0;    // maxMemoryAllocationSize
  VkDeviceSize max_buffer_range = 0;  // maxStorageBufferRange
  VkDeviceSize alignment = 256;       // >= minStorageBufferOffsetAlignment
  VkDeviceSize memory_limit = 0;      // cap on reserved device-kind bytes; 0 = heap size
};

class Allocator {
 public:
  Allocator(VkDevice device, VkPhysicalDevice physical, AllocatorLimits limits);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Throws vkt::Error naming `what` when the request exceeds a device limit or memory runs out.
  std::shared_ptr<Allocation> allocate(VkDeviceSize bytes, MemoryKind kind, const char* what);

  uint64_t reserved(MemoryKind kind) const;
  uint64_t in_use(MemoryKind kind) const;
  size_t block_count() const;

 private:
  friend struct Allocation;
  void release(Allocation& allocation);
  Block* new_block(VkDeviceSize size, MemoryKind kind, bool dedicated, const char* what);
  void destroy_block(Block* block);
  uint32_t memory_type(uint32_t type_bits, MemoryKind kind) const;

  VkDevice device_;
  VkPhysicalDevice physical_;
  AllocatorLimits limits_;
  VkPhysicalDeviceMemoryProperties memory_properties_{};
  VkDeviceSize block_size_ = 64ull << 20;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Block>> blocks_;
  uint64_t reserved_[3] = {0, 0, 0};
  uint64_t in_use_[3] = {0, 0, 0};
};

}  // namespace vkt::detail
