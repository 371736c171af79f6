#include "core/allocator.hpp"

#include <algorithm>
#include <string>

#include "core/check.hpp"

namespace vkt::detail {
namespace {

VkDeviceSize align_up(VkDeviceSize value, VkDeviceSize alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

const char* kind_name(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::device: return "device";
    case MemoryKind::upload: return "upload staging";
    case MemoryKind::readback: return "read-back staging";
  }
  return "?";
}

}  // namespace

Allocation::~Allocation() {
  if (allocator) allocator->release(*this);
}

Allocator::Allocator(VkDevice device, VkPhysicalDevice physical, AllocatorLimits limits)
    : device_(device), physical_(physical), limits_(limits) {
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_properties_);
  VkDeviceSize largest_heap = 0;
  for (uint32_t i = 0; i < memory_properties_.memoryHeapCount; ++i)
    largest_heap = std::max(largest_heap, memory_properties_.memoryHeaps[i].size);
  if (limits_.memory_limit == 0) limits_.memory_limit = largest_heap;
  block_size_ = std::min<VkDeviceSize>(
      {block_size_, largest_heap / 8, limits_.memory_limit / 4, limits_.max_allocation});
  block_size_ = std::max<VkDeviceSize>(block_size_, 1ull << 20);
}

Allocator::~Allocator() {
  for (auto& block : blocks_) destroy_block(block.get());
}

uint32_t Allocator::memory_type(uint32_t type_bits, MemoryKind kind) const {
  // Ordered preferences per kind: the first list whose flags a permitted type has wins.
  struct Preference {
    VkMemoryPropertyFlags required;
    VkMemoryPropertyFlags avoided;
  };
  const VkMemoryPropertyFlags kHost =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  std::vector<Preference> preferences;
  switch (kind) {
    case MemoryKind::device:
      preferences = {{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0}, {0, 0}};
      break;
    case MemoryKind::upload:
      // Keep the small host-visible device-local (BAR) heap of discrete GPUs for other uses.
      preferences = {{kHost, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT}, {kHost, 0}};
      break;
    case MemoryKind::readback:
      preferences = {{kHost | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0}, {kHost, 0}};
      break;
  }
  for (const Preference& preference : preferences) {
    for (uint32_t i = 0; i < memory_properties_.memoryTypeCount; ++i) {
      VkMemoryPropertyFlags flags = memory_properties_.memoryTypes[i].propertyFlags;
      if (!(type_bits & (1u << i))) continue;
      if ((flags & preference.required) != preference.required) continue;
      if (flags & preference.avoided) continue;
      return i;
    }
  }
  throw Error(std::string("allocator: no memory type for ") + kind_name(kind) + " memory");
}

Block* Allocator::new_block(VkDeviceSize size, MemoryKind kind, bool dedicated, const char* what) {
  int k = static_cast<int>(kind);
  if (kind == MemoryKind::device && reserved_[k] + size > limits_.memory_limit) {
    throw Error(std::string(what) + ": out of device memory: " + std::to_string(size) +
                    " more bytes would exceed the limit of " + std::to_string(limits_.memory_limit) +
                    " (" + std::to_string(reserved_[k]) + " reserved)",
                VK_ERROR_OUT_OF_DEVICE_MEMORY);
  }
  auto block = std::make_unique<Block>();
  block->size = size;
  block->kind = kind;
  block->dedicated = dedicated;
  VkBufferCreateInfo buffer_info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  buffer_info.size = size;
  // Uniform too: the packed matmul reads its panels through uniform-buffer windows.
  buffer_info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  buffer_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VKT_CHECK(vkCreateBuffer(device_, &buffer_info, nullptr, &block->buffer));
  try {
    VkMemoryRequirements requirements;
    vkGetBufferMemoryRequirements(device_, block->buffer, &requirements);
    VkMemoryAllocateInfo allocate_info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    allocate_info.allocationSize = requirements.size;
    allocate_info.memoryTypeIndex = memory_type(requirements.memoryTypeBits, kind);
    VkResult result = vkAllocateMemory(device_, &allocate_info, nullptr, &block->memory);
    if (result != VK_SUCCESS) {
      throw Error(std::string(what) + ": vkAllocateMemory of " + std::to_string(requirements.size) +
                      " bytes of " + kind_name(kind) + " memory failed with " +
                      vk_result_name(result),
                  result);
    }
    VKT_CHECK(vkBindBufferMemory(device_, block->buffer, block->memory, 0));
    if (kind != MemoryKind::device) {  // staging stays mapped for the life of the block
      void* pointer = nullptr;
      VKT_CHECK(vkMapMemory(device_, block->memory, 0, VK_WHOLE_SIZE, 0, &pointer));
      block->mapped = static_cast<uint8_t*>(pointer);
    }
  } catch (...) {
    destroy_block(block.get());
    throw;
  }
  block->free_ranges[0] = size;
  reserved_[k] += size;
  blocks_.push_back(std::move(block));
  return blocks_.back().get();
}

void Allocator::destroy_block(Block* block) {
  if (block->mapped) vkUnmapMemory(device_, block->memory);
  if (block->buffer) vkDestroyBuffer(device_, block->buffer, nullptr);
  if (block->memory) vkFreeMemory(device_, block->memory, nullptr);
  block->mapped = nullptr;
  block->buffer = VK_NULL_HANDLE;
  block->memory = VK_NULL_HANDLE;
}

std::shared_ptr<Allocation> Allocator::allocate(VkDeviceSize bytes, MemoryKind kind,
                                                const char* what) {
  VkDeviceSize size = align_up(std::max<VkDeviceSize>(bytes, 4), limits_.alignment);
  if (kind == MemoryKind::device && bytes > limits_.max_buffer_range) {
    throw Error(std::string(what) + ": a tensor of " + std::to_string(bytes) +
                " bytes exceeds the device's maxStorageBufferRange of " +
                std::to_string(limits_.max_buffer_range) +
                " bytes; split it into smaller tensors");
  }
  if (size > limits_.max_allocation) {
    throw Error(std::string(what) + ": " + std::to_string(bytes) +
                " bytes exceed the device's maxMemoryAllocationSize of " +
                std::to_string(limits_.max_allocation));
  }
  std::lock_guard lock(mutex_);
  Block* chosen = nullptr;
  VkDeviceSize chosen_offset = 0;
  if (size * 2 >= block_size_) {
    chosen = new_block(size, kind, true, what);
  } else {
    for (auto& block : blocks_) {
      if (block->kind != kind || block->dedicated) continue;
      for (auto& [offset, free_size] : block->free_ranges) {
        if (free_size >= size) {
          chosen = block.get();
          chosen_offset = offset;
          break;
        }
      }
      if (chosen) break;
    }
    if (!chosen) chosen = new_block(block_size_, kind, false, what);
  }
  auto it = chosen->free_ranges.find(chosen_offset);
  VkDeviceSize free_size = it->second;
  chosen->free_ranges.erase(it);
  if (free_size > size) chosen->free_ranges[chosen_offset + size] = free_size - size;
  chosen->used += size;
  in_use_[static_cast<int>(kind)] += size;

  auto allocation = std::make_shared<Allocation>();
  allocation->allocator = this;
  allocation->block = chosen;
  allocation->offset = chosen_offset;
  allocation->size = size;
  return allocation;
}

void Allocator::release(Allocation& allocation) {
  std::lock_guard lock(mutex_);
  Block* block = allocation.block;
  auto& ranges = block->free_ranges;
  VkDeviceSize offset = allocation.offset;
  VkDeviceSize size = allocation.size;
  // Coalesce with the following and the preceding free range.
  auto next = ranges.lower_bound(offset);
  if (next != ranges.end() && offset + size == next->first) {
    size += next->second;
    next = ranges.erase(next);
  }
  if (next != ranges.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second == offset) {
      offset = previous->first;
      size += previous->second;
      ranges.erase(previous);
    }
  }
  ranges[offset] = size;
  block->used -= allocation.size;
  in_use_[static_cast<int>(block->kind)] -= allocation.size;

  if (block->used != 0) return;
  // Keep one empty shared block per kind for reuse; give back dedicated and surplus ones.
  bool keep = !block->dedicated;
  if (keep) {
    for (auto& other : blocks_) {
      if (other.get() != block && other->kind == block->kind && !other->dedicated &&
          other->used == 0) {
        keep = false;
        break;
      }
    }
  }
  if (keep) return;
  reserved_[static_cast<int>(block->kind)] -= block->size;
  destroy_block(block);
  blocks_.erase(std::find_if(blocks_.begin(), blocks_.end(),
                             [block](const auto& candidate) { return candidate.get() == block; }));
}

uint64_t Allocator::reserved(MemoryKind kind) const {
  std::lock_guard lock(mutex_);
  return reserved_[static_cast<int>(kind)];
}

uint64_t Allocator::in_use(MemoryKind kind) const {
  std::lock_guard lock(mutex_);
  return in_use_[static_cast<int>(kind)];
}

size_t Allocator::block_count() const {
  std::lock_guard lock(mutex_);
  return blocks_.size();
}

}  // namespace vkt::detail
