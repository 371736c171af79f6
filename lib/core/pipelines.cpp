#include "core/pipelines.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/check.hpp"
#include "vktrain/io.hpp"

namespace vkt::detail {

struct EmbeddedShader {
  std::string_view name;
  std::span<const uint32_t> spirv;
};
extern const std::span<const EmbeddedShader> kEmbeddedShaders;

std::span<const uint32_t> embedded_shader(std::string_view name) {
  for (const EmbeddedShader& shader : kEmbeddedShaders)
    if (shader.name == name) return shader.spirv;
  throw Error("pipelines: no embedded shader named '" + std::string(name) + "'");
}

std::vector<std::string_view> embedded_shader_names() {
  std::vector<std::string_view> names;
  for (const EmbeddedShader& shader : kEmbeddedShaders) names.push_back(shader.name);
  return names;
}

namespace {

// Our cache file wraps the driver's blob: magic, payload size and an FNV-1a checksum, so a torn or
// corrupted file is detected before the driver sees it. The driver's own header (vendor, device,
// pipelineCacheUUID) is checked too, so a cache from another GPU or driver is never passed on.
constexpr char kMagic[8] = {'V', 'K', 'T', 'P', 'C', 'A', 'C', '1'};

uint64_t fnv1a(const uint8_t* data, size_t size) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}

std::vector<uint8_t> load_cache(const std::filesystem::path& file,
                                const VkPhysicalDeviceProperties& properties) {
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return {};
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(stream)), {});
  constexpr size_t kHeader = sizeof(kMagic) + 16;
  if (bytes.size() < kHeader + 32 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return {};
  uint64_t size = 0, checksum = 0;
  std::memcpy(&size, bytes.data() + 8, 8);
  std::memcpy(&checksum, bytes.data() + 16, 8);
  if (size != bytes.size() - kHeader) return {};
  const uint8_t* payload = bytes.data() + kHeader;
  if (fnv1a(payload, size) != checksum) return {};
  uint32_t header_length, header_version, vendor, device;
  std::memcpy(&header_length, payload, 4);
  std::memcpy(&header_version, payload + 4, 4);
  std::memcpy(&vendor, payload + 8, 4);
  std::memcpy(&device, payload + 12, 4);
  if (header_length < 32 || header_version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
      vendor != properties.vendorID || device != properties.deviceID ||
      std::memcmp(payload + 16, properties.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    return {};
  return std::vector<uint8_t>(payload, payload + size);
}

}  // namespace

Pipelines::Pipelines(VkDevice device, const VkPhysicalDeviceProperties& properties,
                     bool push_descriptors, std::filesystem::path cache_file)
    : device_(device),
      properties_(properties),
      push_descriptors_(push_descriptors),
      cache_file_(std::move(cache_file)) {
  std::vector<uint8_t> initial;
  if (!cache_file_.empty()) initial = load_cache(cache_file_, properties_);
  cache_loaded_ = !initial.empty();
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = initial.size();
  info.pInitialData = initial.empty() ? nullptr : initial.data();
  VKT_CHECK(vkCreatePipelineCache(device_, &info, nullptr, &cache_));
}

Pipelines::~Pipelines() {
  if (created_ > 0) save_cache();
  for (auto& [key, entry] : pipelines_) vkDestroyPipeline(device_, entry.pipeline, nullptr);
  for (auto& [key, layout] : layouts_) vkDestroyPipelineLayout(device_, layout, nullptr);
  for (auto& [key, layout] : set_layouts_) vkDestroyDescriptorSetLayout(device_, layout, nullptr);
  for (auto& [key, module] : modules_) vkDestroyShaderModule(device_, module, nullptr);
  vkDestroyPipelineCache(device_, cache_, nullptr);
}

void Pipelines::save_cache() const {
  if (cache_file_.empty()) return;
  try {
    size_t size = 0;
    if (vkGetPipelineCacheData(device_, cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
    std::vector<uint8_t> payload(size);
    if (vkGetPipelineCacheData(device_, cache_, &size, payload.data()) != VK_SUCCESS) return;
    payload.resize(size);
    std::filesystem::create_directories(cache_file_.parent_path());
    uint64_t size64 = size, checksum = fnv1a(payload.data(), size);
    std::vector<uint8_t> bytes(kMagic, kMagic + sizeof(kMagic));
    bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(&size64),
                 reinterpret_cast<uint8_t*>(&size64) + 8);
    bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(&checksum),
                 reinterpret_cast<uint8_t*>(&checksum) + 8);
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    write_file_atomic(cache_file_, bytes);
  } catch (const std::exception&) {
    // A cache that cannot be written only costs compile time on the next run.
  }
}

VkShaderModule Pipelines::module(std::string_view shader) {
  auto it = modules_.find(shader);
  if (it != modules_.end()) return it->second;
  std::span<const uint32_t> spirv = embedded_shader(shader);
  VkShaderModuleCreateInfo info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  info.codeSize = spirv.size_bytes();
  info.pCode = spirv.data();
  VkShaderModule module;
  VKT_CHECK(vkCreateShaderModule(device_, &info, nullptr, &module));
  modules_.emplace(std::string(shader), module);
  return module;
}

VkDescriptorSetLayout Pipelines::set_layout(uint32_t bindings, uint32_t windows) {
  auto key = std::make_pair(bindings, windows);
  auto it = set_layouts_.find(key);
  if (it != set_layouts_.end()) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> slots(bindings + (windows > 0 ? 1 : 0));
  for (uint32_t i = 0; i < slots.size(); ++i) {
    slots[i].binding = i;
    slots[i].descriptorType =
        i < bindings ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
    slots[i].descriptorCount = i < bindings ? 1 : windows;
    slots[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  if (push_descriptors_) info.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  info.bindingCount = uint32_t(slots.size());
  info.pBindings = slots.data();
  VkDescriptorSetLayout layout;
  VKT_CHECK(vkCreateDescriptorSetLayout(device_, &info, nullptr, &layout));
  set_layouts_[key] = layout;
  return layout;
}

VkPipelineLayout Pipelines::layout(uint32_t bindings, uint32_t windows, uint32_t push_size) {
  auto key = std::make_tuple(bindings, windows, push_size);
  auto it = layouts_.find(key);
  if (it != layouts_.end()) return it->second;
  VkDescriptorSetLayout set = set_layout(bindings, windows);
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size};
  VkPipelineLayoutCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  info.setLayoutCount = 1;
  info.pSetLayouts = &set;
  info.pushConstantRangeCount = push_size > 0 ? 1 : 0;
  info.pPushConstantRanges = &range;
  VkPipelineLayout layout;
  VKT_CHECK(vkCreatePipelineLayout(device_, &info, nullptr, &layout));
  layouts_[key] = layout;
  return layout;
}

const PipelineEntry& Pipelines::get(const Kernel& kernel, uint32_t bindings, uint32_t push_size,
                                    uint32_t windows) {
  auto key = std::make_tuple(std::string(kernel.shader), kernel.spec, bindings, windows, push_size);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;

  if (push_size > properties_.limits.maxPushConstantsSize) {
    throw Error("pipelines: " + std::string(kernel.shader) + " needs " +
                std::to_string(push_size) + " bytes of push constants, the device allows " +
                std::to_string(properties_.limits.maxPushConstantsSize));
  }
  if (!kernel.spec.empty()) {
    // Constant 0 is the (one-dimensional) workgroup size of every vktrain kernel.
    const auto& limits = properties_.limits;
    uint32_t size = kernel.spec[0];
    if (size == 0 || size > limits.maxComputeWorkGroupSize[0] ||
        size > limits.maxComputeWorkGroupInvocations) {
      throw Error("pipelines: " + std::string(kernel.shader) + " workgroup of " +
                  std::to_string(size) + " invocations exceeds the device's limit of " +
                  std::to_string(std::min(limits.maxComputeWorkGroupSize[0],
                                          limits.maxComputeWorkGroupInvocations)));
    }
  }

  std::vector<VkSpecializationMapEntry> entries(kernel.spec.size());
  for (uint32_t i = 0; i < entries.size(); ++i)
    entries[i] = {i, i * uint32_t(sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo specialization{static_cast<uint32_t>(entries.size()), entries.data(),
                                      kernel.spec.size() * sizeof(uint32_t), kernel.spec.data()};
  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module(kernel.shader);
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = entries.empty() ? nullptr : &specialization;
  info.layout = layout(bindings, windows, push_size);
  PipelineEntry entry{VK_NULL_HANDLE, info.layout};
  VKT_CHECK(vkCreateComputePipelines(device_, cache_, 1, &info, nullptr, &entry.pipeline));
  ++created_;
  return pipelines_.emplace(std::move(key), entry).first->second;
}

}  // namespace vkt::detail
