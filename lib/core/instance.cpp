// The Vulkan instance: volk's loader bootstrap, the validation layer and its debug messenger.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "core/state.hpp"

namespace vkt::detail {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

void initialize_loader() {
  static std::once_flag once;
  static VkResult result = VK_SUCCESS;
  std::call_once(once, [] { result = volkInitialize(); });
  if (result != VK_SUCCESS) {
    throw Error(
        "device: no Vulkan loader found (libvulkan.so.1). Install a Vulkan driver; without a GPU, "
        "Mesa's lavapipe: apt-get install libvulkan1 mesa-vulkan-drivers",
        result);
  }
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data,
                                          void* user) {
  auto* instance = static_cast<Instance*>(user);
  const char* text = data && data->pMessage ? data->pMessage : "(no message)";
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    instance->messages.fetch_add(1);
    {
      std::lock_guard lock(instance->last_message_mutex);
      instance->last_message = text;
    }
    std::fprintf(stderr, "vktrain validation: %s\n", text);
  }
  return VK_FALSE;
}

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0;
}

bool has_layer(const char* name) {
  uint32_t count = 0;
  VKT_CHECK(vkEnumerateInstanceLayerProperties(&count, nullptr));
  std::vector<VkLayerProperties> layers(count);
  VKT_CHECK(vkEnumerateInstanceLayerProperties(&count, layers.data()));
  for (const auto& layer : layers)
    if (std::strcmp(layer.layerName, name) == 0) return true;
  return false;
}

bool has_instance_extension(const char* layer, const char* name) {
  uint32_t count = 0;
  VKT_CHECK(vkEnumerateInstanceExtensionProperties(layer, &count, nullptr));
  std::vector<VkExtensionProperties> extensions(count);
  VKT_CHECK(vkEnumerateInstanceExtensionProperties(layer, &count, extensions.data()));
  for (const auto& extension : extensions)
    if (std::strcmp(extension.extensionName, name) == 0) return true;
  return false;
}

// volk keeps one process-wide set of entry points. They are loaded once, from the first instance
// and never rewritten, so a thread opening a device cannot change a pointer another thread is
// calling through. That serves every later instance and device: the loader's vkGetInstanceProcAddr
// returns, for core and device-level functions, its own trampolines, which dispatch on the handle
// they are given rather than on the instance they were looked up in. Instance-extension functions
// are the exception: they exist only for an instance that enabled the extension, so
// VK_EXT_debug_utils (the only one vktrain uses) is loaded into each Instance (see create).
void load_entry_points(VkInstance instance) {
  static std::once_flag once;
  std::call_once(once, [instance] { volkLoadInstance(instance); });
}

template <class Function>
Function instance_function(VkInstance instance, const char* name) {
  auto function = reinterpret_cast<Function>(vkGetInstanceProcAddr(instance, name));
  if (!function)
    throw Error(std::string("device: the Vulkan loader has no ") + name +
                " although VK_EXT_debug_utils was enabled");
  return function;
}

}  // namespace

Instance::~Instance() {
  if (messenger) destroy_messenger(instance, messenger, nullptr);
  if (instance) vkDestroyInstance(instance, nullptr);
}

std::shared_ptr<Instance> Instance::create(bool validation) {
  initialize_loader();
  auto result = std::make_shared<Instance>();
  result->validation = validation;

  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  bool sync_validation = false;
  if (validation) {
    if (!has_layer(kValidationLayer)) {
      throw Error(
          "device: validation was requested (VKTRAIN_VALIDATION) but VK_LAYER_KHRONOS_validation "
          "is not installed: apt-get install vulkan-validationlayers");
    }
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    sync_validation =
        has_instance_extension(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (sync_validation) extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  }

  uint32_t loader_version = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion) vkEnumerateInstanceVersion(&loader_version);
  if (loader_version < VK_API_VERSION_1_2) {
    throw Error("device: the Vulkan loader supports only Vulkan " +
                std::to_string(VK_API_VERSION_MAJOR(loader_version)) + "." +
                std::to_string(VK_API_VERSION_MINOR(loader_version)) +
                "; vktrain needs 1.2 or newer");
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vktrain";
  app.pEngineName = "vktrain";
  app.apiVersion = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;

  VkDebugUtilsMessengerCreateInfoEXT messenger_info{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger_info.pfnUserCallback = on_message;
  messenger_info.pUserData = result.get();

  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enables;
  features.pNext = &messenger_info;  // also reports messages from instance creation itself

  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  info.enabledLayerCount = uint32_t(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  if (validation) info.pNext = sync_validation ? static_cast<void*>(&features) : &messenger_info;
  VKT_CHECK(vkCreateInstance(&info, nullptr, &result->instance));
  load_entry_points(result->instance);
  if (validation) {
    auto create_messenger = instance_function<PFN_vkCreateDebugUtilsMessengerEXT>(
        result->instance, "vkCreateDebugUtilsMessengerEXT");
    result->destroy_messenger = instance_function<PFN_vkDestroyDebugUtilsMessengerEXT>(
        result->instance, "vkDestroyDebugUtilsMessengerEXT");
    VKT_CHECK(create_messenger(result->instance, &messenger_info, nullptr, &result->messenger));
  }
  return result;
}

bool validation_requested() { return env_flag("VKTRAIN_VALIDATION"); }

}  // namespace vkt::detail
