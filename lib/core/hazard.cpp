#include "core/hazard.hpp"

namespace vkt::detail {

bool HazardTracker::overlaps(const std::vector<Range>& ranges, const BufferAccess& access) {
  for (const Range& range : ranges) {
    if (range.buffer == access.buffer && range.begin < access.end && access.begin < range.end)
      return true;
  }
  return false;
}

bool HazardTracker::conflicts(std::span<const BufferAccess> accesses) const {
  for (const BufferAccess& access : accesses) {
    if ((access.read || access.write) && overlaps(writes_, access)) return true;  // RAW, WAW
    if (access.write && overlaps(reads_, access)) return true;                    // WAR
  }
  return false;
}

void HazardTracker::add(std::span<const BufferAccess> accesses) {
  for (const BufferAccess& access : accesses) {
    Range range{access.buffer, access.begin, access.end};
    if (access.read) reads_.push_back(range);
    if (access.write) writes_.push_back(range);
  }
}

void HazardTracker::clear() {
  reads_.clear();
  writes_.clear();
}

}  // namespace vkt::detail
