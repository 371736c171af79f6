// VKT_CHECK: every Vulkan call goes through it, in release builds too. A failure throws vkt::Error
// with the VkResult's name, the call's text and file:line.
#pragma once

#include <volk.h>

#include <string>

#include "vktrain/error.hpp"

namespace vkt::detail {

const char* vk_result_name(VkResult result);
[[noreturn]] void throw_vk_error(VkResult result, const char* call, const char* file, int line);

// Formats an argument error as "op: what (got X, expected Y)".
[[noreturn]] void throw_arg_error(const std::string& op, const std::string& message);

}  // namespace vkt::detail

#define VKT_CHECK(call)                                                              \
  do {                                                                               \
    VkResult vkt_result_ = (call);                                                   \
    if (vkt_result_ != VK_SUCCESS)                                                   \
      ::vkt::detail::throw_vk_error(vkt_result_, #call, __FILE__, __LINE__);         \
  } while (0)

// Argument checks in ops: VKT_REQUIRE(cond, "op", "message built with " + shape_str(...)).
#define VKT_REQUIRE(cond, op, message)                                               \
  do {                                                                               \
    if (!(cond)) ::vkt::detail::throw_arg_error((op), (message));                    \
  } while (0)
