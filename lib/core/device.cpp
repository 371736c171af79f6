// Physical device discovery and selection, logical device creation, and the device report.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"
#include "vktrain/scheduler.hpp"

namespace vkt::detail {

bool validation_requested();

namespace {

std::string vendor_name(uint32_t vendor_id, const std::string& device_name) {
  switch (vendor_id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106B: return "Apple";
    case 0x10005: return device_name.find("llvmpipe") != std::string::npos ? "Mesa (lavapipe)"
                                                                           : "Mesa";
    default: return "vendor 0x" + [&] {
      std::ostringstream hex;
      hex << std::hex << vendor_id;
      return hex.str();
    }();
  }
}

const char* type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

int type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

std::vector<VkExtensionProperties> device_extensions(VkPhysicalDevice physical) {
  uint32_t count = 0;
  VKT_CHECK(vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr));
  std::vector<VkExtensionProperties> extensions(count);
  VKT_CHECK(vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, extensions.data()));
  return extensions;
}

bool has_extension(const std::vector<VkExtensionProperties>& extensions, const char* name) {
  return std::any_of(extensions.begin(), extensions.end(),
                     [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

// VK_NV_cooperative_matrix with the shape shaders/matmul_coopmat.comp multiplies (16x16x16,
// float16 A and B, float32 C and D, one subgroup), and the features that shader needs: float16
// arithmetic (its shared tiles) and the Vulkan memory model (GL_KHR_memory_scope_semantics).
// The KHR extension is not used yet: Debian 12's glslang cannot compile GL_KHR_cooperative_matrix.
bool nv_cooperative_matmul_f16(VkPhysicalDevice physical,
                               const std::vector<VkExtensionProperties>& extensions,
                               const VkPhysicalDeviceVulkan12Features& features12) {
  if (!has_extension(extensions, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) ||
      !features12.shaderFloat16 || !features12.vulkanMemoryModel)
    return false;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cooperative{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &cooperative;
  vkGetPhysicalDeviceFeatures2(physical, &features);
  if (!cooperative.cooperativeMatrix || !vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
    return false;
  uint32_t count = 0;
  VKT_CHECK(vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical, &count, nullptr));
  std::vector<VkCooperativeMatrixPropertiesNV> shapes(
      count, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  VKT_CHECK(vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical, &count, shapes.data()));
  return std::any_of(shapes.begin(), shapes.end(), [](const VkCooperativeMatrixPropertiesNV& s) {
    return s.MSize == 16 && s.NSize == 16 && s.KSize == 16 &&
           s.AType == VK_COMPONENT_TYPE_FLOAT16_NV && s.BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
           s.CType == VK_COMPONENT_TYPE_FLOAT32_NV && s.DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
           s.scope == VK_SCOPE_SUBGROUP_NV;
  });
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t count = 0;
  VKT_CHECK(vkEnumeratePhysicalDevices(instance, &count, nullptr));
  std::vector<VkPhysicalDevice> devices(count);
  VKT_CHECK(vkEnumeratePhysicalDevices(instance, &count, devices.data()));
  if (devices.empty())
    throw Error("device: no Vulkan device found; without a GPU install Mesa's lavapipe: "
                "apt-get install mesa-vulkan-drivers");
  return devices;
}

std::string lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

uint32_t select_device(const std::vector<DeviceInfo>& infos,
                       const std::vector<VkPhysicalDevice>& devices, std::string selection) {
  if (selection.empty()) {
    const char* env = std::getenv("VKTRAIN_DEVICE");
    if (env) selection = env;
  }
  if (!selection.empty()) {
    bool numeric = std::all_of(selection.begin(), selection.end(),
                               [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    for (const DeviceInfo& info : infos) {
      if (numeric ? std::to_string(info.index) == selection
                  : lower(info.name).find(lower(selection)) != std::string::npos)
        return info.index;
    }
    std::string message = "device: no Vulkan device matches '" + selection +
                          "' (VKTRAIN_DEVICE takes an index or a name substring). Devices:";
    for (const DeviceInfo& info : infos)
      message += "\n  " + std::to_string(info.index) + ": " + info.name + " (" + info.type + ")";
    throw Error(message);
  }
  uint32_t best = 0;
  int best_rank = -1;
  for (const DeviceInfo& info : infos) {
    VkPhysicalDeviceProperties properties;
    vkGetPhysicalDeviceProperties(devices[info.index], &properties);
    if (properties.apiVersion < VK_API_VERSION_1_2) continue;
    int rank = type_rank(properties.deviceType);
    if (rank > best_rank) {
      best_rank = rank;
      best = info.index;
    }
  }
  if (best_rank < 0) throw Error("device: no device supports Vulkan 1.2, which vktrain needs");
  return best;
}

std::vector<VkQueueFamilyProperties> queue_families(VkPhysicalDevice physical) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  return families;
}

uint32_t compute_queue_family(VkPhysicalDevice physical) {
  std::vector<VkQueueFamilyProperties> families = queue_families(physical);
  uint32_t count = uint32_t(families.size());
  // A dedicated compute family (no graphics) runs beside rendering work; take it when there is one.
  for (uint32_t i = 0; i < count; ++i)
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
        !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      return i;
  for (uint32_t i = 0; i < count; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return i;
  throw Error("device: the selected device has no compute queue");
}

// The cache directory's file for this device: `kind` "pipelines" (.bin) or "tuning" (.txt, also
// keyed on the driver version, since kernel speeds change with the driver).
std::filesystem::path cache_file(const std::string& cache_dir, const VkPhysicalDeviceProperties& p,
                                 const std::string& kind = "pipelines") {
  if (cache_dir == "none") return {};
  std::filesystem::path directory;
  if (!cache_dir.empty()) {
    directory = cache_dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    directory = std::filesystem::path(xdg) / "vktrain";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    directory = std::filesystem::path(home) / ".cache" / "vktrain";
  } else {
    return {};
  }
  std::ostringstream name;
  name << kind << "-" << std::hex << p.vendorID << "-" << p.deviceID;
  if (kind == "pipelines")
    name << ".bin";
  else
    name << "-" << p.driverVersion << ".txt";
  return directory / name.str();
}

}  // namespace

DeviceInfo query_device_info(VkPhysicalDevice physical, uint32_t index) {
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  driver.pNext = &subgroup;
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties.pNext = &driver;
  vkGetPhysicalDeviceProperties2(physical, &properties);
  const VkPhysicalDeviceProperties& p = properties.properties;

  VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features features11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  features11.pNext = &features12;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &features11;
  vkGetPhysicalDeviceFeatures2(physical, &features);

  VkPhysicalDeviceMaintenance3Properties maintenance3{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 properties_m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties_m3.pNext = &maintenance3;
  vkGetPhysicalDeviceProperties2(physical, &properties_m3);

  auto extensions = device_extensions(physical);
  DeviceInfo info;
  info.index = index;
  info.name = p.deviceName;
  info.type = type_name(p.deviceType);
  info.vendor_id = p.vendorID;
  info.vendor = vendor_name(p.vendorID, info.name);
  info.driver = std::string(driver.driverName) + " " + driver.driverInfo;
  info.api_version = std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) + "." +
                     std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) + "." +
                     std::to_string(VK_API_VERSION_PATCH(p.apiVersion));
  info.subgroup_size = subgroup.subgroupSize;
  info.max_shared_memory = p.limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    info.max_workgroup_size[i] = p.limits.maxComputeWorkGroupSize[i];
    info.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  }
  info.max_storage_buffer_range = p.limits.maxStorageBufferRange;
  info.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
  info.max_push_constants = p.limits.maxPushConstantsSize;
  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i)
    info.heaps.push_back({memory.memoryHeaps[i].size,
                          (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  info.fp16_arithmetic = features12.shaderFloat16;
  info.storage_16bit = features11.storageBuffer16BitAccess;
  info.float_atomics = has_extension(extensions, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
  info.subgroup_size_control =
      p.apiVersion >= VK_API_VERSION_1_3 ||
      has_extension(extensions, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  info.cooperative_matrix = has_extension(extensions, "VK_KHR_cooperative_matrix") ||
                            has_extension(extensions, "VK_NV_cooperative_matrix");
  info.cooperative_matmul_f16 = nv_cooperative_matmul_f16(physical, extensions, features12);
  // Timestamps are a property of the queue family: the one the device's scheduler will use.
  try {
    info.timestamp_valid_bits =
        queue_families(physical)[compute_queue_family(physical)].timestampValidBits;
  } catch (const Error&) {
    info.timestamp_valid_bits = 0;  // no compute queue: Device::open says so when it is chosen
  }
  info.timestamp_queries = info.timestamp_valid_bits > 0;
  info.timestamp_period_ns = p.limits.timestampPeriod;
  info.push_descriptors = has_extension(extensions, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  info.uniform_buffer_windows = features.features.shaderUniformBufferArrayDynamicIndexing;
  return info;
}

DeviceState::~DeviceState() {
  if (device) vkDeviceWaitIdle(device);
  scheduler.reset();
  pipelines.reset();
  allocator.reset();
  if (device) vkDestroyDevice(device, nullptr);
}

}  // namespace vkt::detail

namespace vkt {

using namespace detail;

std::vector<DeviceInfo> Device::list() {
  auto instance = Instance::create(false);
  auto devices = physical_devices(instance->instance);
  std::vector<DeviceInfo> infos;
  for (uint32_t i = 0; i < devices.size(); ++i) infos.push_back(query_device_info(devices[i], i));
  return infos;
}

Device Device::open(const DeviceOptions& options) {
  bool validation = options.validation.value_or(validation_requested());
  auto state = std::make_shared<DeviceState>();
  state->self = state;
  state->instance = Instance::create(validation);
  auto devices = physical_devices(state->instance->instance);
  std::vector<DeviceInfo> infos;
  for (uint32_t i = 0; i < devices.size(); ++i) infos.push_back(query_device_info(devices[i], i));
  uint32_t chosen = select_device(infos, devices, options.select);
  state->physical = devices[chosen];
  state->info = infos[chosen];
  vkGetPhysicalDeviceProperties(state->physical, &state->properties);
  if (state->properties.apiVersion < VK_API_VERSION_1_2)
    throw Error("device: " + state->info.name + " supports Vulkan " + state->info.api_version +
                "; vktrain needs 1.2 or newer");

  // Enable what the kernels can use when it is present; nothing optional is required.
  VkPhysicalDeviceVulkan12Features supported12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features supported11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  supported11.pNext = &supported12;
  VkPhysicalDeviceFeatures2 supported{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  supported.pNext = &supported11;
  vkGetPhysicalDeviceFeatures2(state->physical, &supported);
  if (!supported12.timelineSemaphore)
    throw Error("device: " + state->info.name + " lacks timeline semaphores, which vktrain needs");

  VkPhysicalDeviceVulkan12Features enable12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  enable12.timelineSemaphore = VK_TRUE;
  enable12.shaderFloat16 = supported12.shaderFloat16;
  enable12.storageBuffer8BitAccess = supported12.storageBuffer8BitAccess;
  // shaders/matmul_coopmat.comp: the Vulkan memory model and VK_NV_cooperative_matrix.
  const bool cooperative = state->info.cooperative_matmul_f16;
  enable12.vulkanMemoryModel = cooperative ? VK_TRUE : VK_FALSE;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV enable_cooperative{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  enable_cooperative.cooperativeMatrix = VK_TRUE;
  if (cooperative) enable12.pNext = &enable_cooperative;
  VkPhysicalDeviceVulkan11Features enable11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  enable11.storageBuffer16BitAccess = supported11.storageBuffer16BitAccess;
  enable11.pNext = &enable12;
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  enable.features.shaderInt64 = supported.features.shaderInt64;
  enable.features.shaderUniformBufferArrayDynamicIndexing =
      supported.features.shaderUniformBufferArrayDynamicIndexing;
  enable.pNext = &enable11;

  std::vector<const char*> extensions;
  bool push_descriptors = state->info.push_descriptors && !options.disable_push_descriptors &&
                          !std::getenv("VKTRAIN_NO_PUSH_DESCRIPTORS");
  if (push_descriptors) extensions.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  if (cooperative) extensions.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);

  state->queue_family = compute_queue_family(state->physical);
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = state->queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_info.pNext = &enable;
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  device_info.enabledExtensionCount = uint32_t(extensions.size());
  device_info.ppEnabledExtensionNames = extensions.data();
  VKT_CHECK(vkCreateDevice(state->physical, &device_info, nullptr, &state->device));
  vkGetDeviceQueue(state->device, state->queue_family, 0, &state->queue);

  AllocatorLimits limits;
  limits.max_allocation = state->info.max_memory_allocation_size
                              ? state->info.max_memory_allocation_size
                              : (1ull << 30);
  limits.max_buffer_range = state->properties.limits.maxStorageBufferRange;
  limits.alignment = std::max<VkDeviceSize>(
      256, state->properties.limits.minStorageBufferOffsetAlignment);
  limits.memory_limit = options.memory_limit;
  state->allocator = std::make_unique<Allocator>(state->device, state->physical, limits);
  state->pipelines = std::make_unique<Pipelines>(state->device, state->properties, push_descriptors,
                                                 cache_file(options.cache_dir, state->properties));
  const char* autotune_env = std::getenv("VKTRAIN_AUTOTUNE");
  bool autotune = options.autotune.value_or(autotune_env && std::string(autotune_env) == "1");
  state->tuner = std::make_unique<Tuner>(cache_file(options.cache_dir, state->properties, "tuning"),
                                         autotune);
  state->scheduler = std::make_unique<VulkanScheduler>(*state);
  return Device(std::move(state));
}

const DeviceInfo& Device::info() const { return state_->info; }
std::string Device::describe() const { return vkt::describe(state_->info); }
Scheduler& Device::scheduler() const { return *state_->scheduler; }
void Device::synchronize() const { state_->scheduler->synchronize(); }
bool Device::autotune() const { return state_->tuner->enabled(); }
uint64_t Device::validation_messages() const { return state_->instance->messages.load(); }
std::string Device::last_validation_message() const {
  std::lock_guard lock(state_->instance->last_message_mutex);
  return state_->instance->last_message;
}
bool Device::validation_enabled() const { return state_->instance->validation; }
uint64_t Device::memory_reserved() const { return state_->allocator->reserved(MemoryKind::device); }
uint64_t Device::memory_in_use() const { return state_->allocator->in_use(MemoryKind::device); }

std::string describe(const DeviceInfo& info) {
  std::ostringstream out;
  auto yes = [](bool value) { return value ? "yes" : "no"; };
  out << "device " << info.index << ": " << info.name << "\n"
      << "  type:                     " << info.type << "\n"
      << "  vendor:                   " << info.vendor << " (0x" << std::hex << info.vendor_id
      << std::dec << ")\n"
      << "  driver:                   " << info.driver << "\n"
      << "  Vulkan API:               " << info.api_version << "\n"
      << "  subgroup size:            " << info.subgroup_size << "\n"
      << "  shared memory:            " << info.max_shared_memory / 1024 << " KiB\n"
      << "  max workgroup:            " << info.max_workgroup_invocations << " invocations ("
      << info.max_workgroup_size[0] << ", " << info.max_workgroup_size[1] << ", "
      << info.max_workgroup_size[2] << ")\n"
      << "  max storage buffer range: " << info.max_storage_buffer_range / (1024 * 1024)
      << " MiB\n"
      << "  max allocation size:      " << info.max_memory_allocation_size / (1024 * 1024)
      << " MiB\n";
  for (size_t i = 0; i < info.heaps.size(); ++i)
    out << "  memory heap " << i << ":            " << info.heaps[i].size / (1024 * 1024) << " MiB"
        << (info.heaps[i].device_local ? " (device local)" : "") << "\n";
  out << "  fp16 arithmetic:          " << yes(info.fp16_arithmetic) << "\n"
      << "  16-bit storage:           " << yes(info.storage_16bit) << "\n"
      << "  float atomics:            " << yes(info.float_atomics) << "\n"
      << "  subgroup size control:    " << yes(info.subgroup_size_control) << "\n"
      << "  cooperative matrix:       " << yes(info.cooperative_matrix)
      << (info.cooperative_matmul_f16 ? " (16x16x16 float16 -> float32: matmul_coopmat)" : "")
      << "\n"
      << "  timestamp queries:        " << yes(info.timestamp_queries);
  if (info.timestamp_queries) out << " (" << info.timestamp_valid_bits << " valid bits)";
  out << "\n"
      << "  push descriptors:         " << yes(info.push_descriptors) << "\n";
  return out.str();
}

}  // namespace vkt
