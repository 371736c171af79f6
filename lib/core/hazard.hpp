// Hazard tracking for buffer ranges, independent of Vulkan so it can be tested on its own.
//
// Between two barriers the tracker remembers every range read and written. A new access needs a
// barrier first when it reads a range written since the last barrier (read-after-write), or writes a
// range read or written since then (write-after-read, write-after-write). Reads after reads never
// need one. Barriers are global memory barriers, so after one every earlier access is ordered and
// the tracker starts empty.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkt::detail {

struct BufferAccess {
  uint64_t buffer = 0;  // VkBuffer handle value
  uint64_t begin = 0;   // byte range [begin, end)
  uint64_t end = 0;
  bool read = false;
  bool write = false;
};

class HazardTracker {
 public:
  // True when any of `accesses` conflicts with an access since the last barrier.
  bool conflicts(std::span<const BufferAccess> accesses) const;
  void add(std::span<const BufferAccess> accesses);
  // A barrier was recorded: everything before it is ordered.
  void clear();
  bool empty() const { return reads_.empty() && writes_.empty(); }
  bool has_writes() const { return !writes_.empty(); }

 private:
  struct Range {
    uint64_t buffer, begin, end;
  };
  static bool overlaps(const std::vector<Range>& ranges, const BufferAccess& access);
  std::vector<Range> reads_;
  std::vector<Range> writes_;
};

}  // namespace vkt::detail
