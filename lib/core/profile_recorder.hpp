// The scheduler's side of vkt::Profiler: a query pool of timestamp pairs, each pair bracketing one
// named command, and the totals read back from it.
#pragma once

#include <volk.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vktrain/profiler.hpp"

namespace vkt::detail {

struct DeviceState;
class Recording;

class ProfileRecorder {
 public:
  ProfileRecorder(DeviceState& state, uint32_t pairs);
  ~ProfileRecorder();
  ProfileRecorder(const ProfileRecorder&) = delete;
  ProfileRecorder& operator=(const ProfileRecorder&) = delete;

  bool full() const { return used_ == names_.size(); }
  bool pending() const { return used_ > 0; }
  // The pair's first timestamp: reset both queries, then write once earlier work has finished.
  void open(Recording& recording, std::string_view name);
  // The pair's second timestamp, after the command.
  void close(Recording& recording);
  // Adds every written pair to the totals and frees the pool. The device must be idle (the
  // scheduler synchronizes first); pairs whose queries were never written (a recording that
  // failed to submit) are dropped.
  void harvest();

  std::map<std::string, KernelTime, std::less<>> totals;

 private:
  DeviceState& state_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  std::vector<std::string> names_;  // per pair
  uint32_t used_ = 0;
  bool open_ = false;
  uint64_t mask_;
};

}  // namespace vkt::detail
