// The hazard tracker on its own: which access pairs need a barrier.
#include <catch2/catch.hpp>

#include "core/hazard.hpp"

using vkt::detail::BufferAccess;
using vkt::detail::HazardTracker;

namespace {
BufferAccess reads(uint64_t buffer, uint64_t begin, uint64_t end) { return {buffer, begin, end, true, false}; }
BufferAccess writes(uint64_t buffer, uint64_t begin, uint64_t end) { return {buffer, begin, end, false, true}; }
bool conflicts(const HazardTracker& tracker, BufferAccess access) { return tracker.conflicts({&access, 1}); }
void add(HazardTracker& tracker, BufferAccess access) { tracker.add({&access, 1}); }
}  // namespace

TEST_CASE("hazard: read after write, write after read, write after write", "[core]") {
  HazardTracker tracker;
  add(tracker, writes(1, 0, 100));
  CHECK(conflicts(tracker, reads(1, 50, 60)));    // RAW
  CHECK(conflicts(tracker, writes(1, 99, 200)));  // WAW
  CHECK_FALSE(conflicts(tracker, reads(1, 100, 200)));  // adjacent, not overlapping
  CHECK_FALSE(conflicts(tracker, reads(2, 0, 100)));    // another buffer

  HazardTracker readers;
  add(readers, reads(1, 0, 100));
  CHECK(conflicts(readers, writes(1, 10, 20)));         // WAR
  CHECK_FALSE(conflicts(readers, reads(1, 0, 100)));    // RAR never conflicts
  CHECK_FALSE(conflicts(readers, writes(1, 100, 101)));
}

TEST_CASE("hazard: a barrier orders everything before it", "[core]") {
  HazardTracker tracker;
  add(tracker, writes(1, 0, 64));
  add(tracker, reads(2, 0, 64));
  REQUIRE(conflicts(tracker, reads(1, 0, 4)));
  tracker.clear();
  CHECK(tracker.empty());
  CHECK_FALSE(conflicts(tracker, reads(1, 0, 4)));
  CHECK_FALSE(conflicts(tracker, writes(2, 0, 4)));
}

TEST_CASE("hazard: a read-write access conflicts like both", "[core]") {
  HazardTracker tracker;
  BufferAccess both{3, 0, 16, true, true};
  add(tracker, both);
  CHECK(conflicts(tracker, reads(3, 0, 4)));
  CHECK(conflicts(tracker, writes(3, 12, 16)));
  CHECK(conflicts(tracker, both));
}
