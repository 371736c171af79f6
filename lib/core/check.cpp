#include "core/check.hpp"

#include <sstream>

namespace vkt::detail {

const char* vk_result_name(VkResult result) {
  switch (result) {
#define VKT_CASE(x) \
  case x:           \
    return #x;
    VKT_CASE(VK_SUCCESS)
    VKT_CASE(VK_NOT_READY)
    VKT_CASE(VK_TIMEOUT)
    VKT_CASE(VK_INCOMPLETE)
    VKT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    VKT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    VKT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    VKT_CASE(VK_ERROR_DEVICE_LOST)
    VKT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    VKT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    VKT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    VKT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    VKT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    VKT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    VKT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    VKT_CASE(VK_ERROR_FRAGMENTED_POOL)
    VKT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    VKT_CASE(VK_ERROR_INVALID_SHADER_NV)
    VKT_CASE(VK_ERROR_FRAGMENTATION)
    VKT_CASE(VK_PIPELINE_COMPILE_REQUIRED)
    VKT_CASE(VK_ERROR_UNKNOWN)
#undef VKT_CASE
    default:
      return "VK_RESULT_UNKNOWN";
  }
}

void throw_vk_error(VkResult result, const char* call, const char* file, int line) {
  std::ostringstream message;
  message << vk_result_name(result) << " (" << static_cast<int>(result) << ") from " << call << " at "
          << file << ":" << line;
  if (result == VK_ERROR_DEVICE_LOST)
    message << ": the device was lost; open a new vkt::Device";
  throw Error(message.str(), static_cast<int>(result));
}

void throw_arg_error(const std::string& op, const std::string& message) {
  throw Error(op + ": " + message);
}

}  // namespace vkt::detail
