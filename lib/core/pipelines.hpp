// Compute pipelines, created lazily per (shader, specialization constants, binding count, push
// constant size), backed by a VkPipelineCache persisted in the user's cache directory. A cache file
// that is corrupt, truncated or written by another device or driver is ignored.
#pragma once

#include <volk.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "vktrain/device.hpp"
#include "vktrain/scheduler.hpp"

namespace vkt::detail {

struct PipelineEntry {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
};

// The SPIR-V of an embedded shader, or an error naming the unknown shader.
std::span<const uint32_t> embedded_shader(std::string_view name);
std::vector<std::string_view> embedded_shader_names();

class Pipelines {
 public:
  Pipelines(VkDevice device, const VkPhysicalDeviceProperties& properties, bool push_descriptors,
            std::filesystem::path cache_file);
  ~Pipelines();
  Pipelines(const Pipelines&) = delete;
  Pipelines& operator=(const Pipelines&) = delete;

  // `bindings` storage buffers at bindings 0 .. bindings-1 and, where `windows` > 0, binding
  // `bindings` an array of that many uniform buffers (UniformWindows, lib/core/scheduler_impl.hpp).
  const PipelineEntry& get(const Kernel& kernel, uint32_t bindings, uint32_t push_size,
                           uint32_t windows = 0);
  VkDescriptorSetLayout set_layout(uint32_t bindings, uint32_t windows = 0);
  bool push_descriptors() const { return push_descriptors_; }
  uint64_t created() const { return created_; }
  // True when a cache file was found valid for this device and handed to the driver.
  bool cache_loaded() const { return cache_loaded_; }
  // Writes the pipeline cache atomically (write_file_atomic); failures are ignored.
  void save_cache() const;

 private:
  VkPipelineLayout layout(uint32_t bindings, uint32_t windows, uint32_t push_size);
  VkShaderModule module(std::string_view shader);

  VkDevice device_;
  VkPhysicalDeviceProperties properties_;
  bool push_descriptors_;
  std::filesystem::path cache_file_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  uint64_t created_ = 0;
  bool cache_loaded_ = false;
  std::map<std::string, VkShaderModule, std::less<>> modules_;
  std::map<std::pair<uint32_t, uint32_t>, VkDescriptorSetLayout> set_layouts_;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, VkPipelineLayout> layouts_;
  std::map<std::tuple<std::string, std::vector<uint32_t>, uint32_t, uint32_t, uint32_t>,
           PipelineEntry, std::less<>>
      pipelines_;
};

}  // namespace vkt::detail
