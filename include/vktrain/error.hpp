// vktrain's one error policy: every failure is a vkt::Error.
//
// Vulkan calls that fail carry their VkResult (as an int, so this header needs no Vulkan headers),
// the call text and file:line. Argument and shape checks carry the op's name and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace vkt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int vk_result = 0)
      : std::runtime_error(message), vk_result_(vk_result) {}

  // The VkResult of the failed Vulkan call, or 0 (VK_SUCCESS) for argument errors.
  int vk_result() const noexcept { return vk_result_; }
  // True when the device was lost (VK_ERROR_DEVICE_LOST): the Device must be recreated.
  bool device_lost() const noexcept { return vk_result_ == -4; }
  // True when an allocation failed for lack of device or host memory; the library stays usable.
  bool out_of_memory() const noexcept { return vk_result_ == -1 || vk_result_ == -2; }

 private:
  int vk_result_;
};

}  // namespace vkt
