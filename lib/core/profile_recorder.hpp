// The scheduler's side of vkt::Profiler: a query pool of timestamp pairs, each pair bracketing one
// named command under the vkt::ProfileScope labels open when it was recorded, and the totals read
// back from it, by (scope, name).
#pragma once

#include <volk.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
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
  // The pair is charged to `name` under the current scope.
  void open(Recording& recording, std::string_view name);
  // The pair's second timestamp, after the command.
  void close(Recording& recording);
  // Adds every written pair to the totals and frees the pool. The device must be idle (the
  // scheduler synchronizes first); pairs whose queries were never written (a recording that
  // failed to submit) are dropped.
  void harvest();

  // The labels of the ProfileScopes open now, outermost first, joined by "/"; empty outside any.
  // Kept here so that it outlives a Profiler stopped inside a scope.
  std::string scope;
  // By (scope, name).
  std::map<std::pair<std::string, std::string>, KernelTime> totals;

 private:
  DeviceState& state_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  std::vector<std::pair<std::string, std::string>> names_;  // per pair: (scope, name)
  uint32_t used_ = 0;
  bool open_ = false;
  uint64_t mask_;
};

}  // namespace vkt::detail
