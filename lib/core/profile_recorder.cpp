// Timestamp pairs for vkt::Profiler (see profile_recorder.hpp).
#include "core/profile_recorder.hpp"

#include <cassert>
#include <utility>

#include "core/check.hpp"
#include "core/recording.hpp"
#include "core/state.hpp"

namespace vkt::detail {

ProfileRecorder::ProfileRecorder(DeviceState& state, uint32_t pairs) : state_(state), names_(pairs) {
  uint32_t bits = state_.info.timestamp_valid_bits;
  mask_ = bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
  VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = 2 * pairs;
  VKT_CHECK(vkCreateQueryPool(state_.device, &info, nullptr, &pool_));
}

ProfileRecorder::~ProfileRecorder() { vkDestroyQueryPool(state_.device, pool_, nullptr); }

// A pair left open by a command that threw while being recorded is simply opened again.
void ProfileRecorder::open(Recording& recording, std::string_view name) {
  assert(!full());
  VkCommandBuffer cb = recording.command_buffer();
  vkCmdResetQueryPool(cb, pool_, 2 * used_, 2);
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 2 * used_);
  names_[used_].first = scope;
  names_[used_].second.assign(name);
  open_ = true;
}

void ProfileRecorder::close(Recording& recording) {
  assert(open_);
  vkCmdWriteTimestamp(recording.command_buffer(), VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_,
                      2 * used_ + 1);
  ++used_;
  open_ = false;
}

void ProfileRecorder::harvest() {
  if (used_ == 0) return;
  // Per query: the timestamp, then its availability.
  std::vector<uint64_t> values(4 * size_t(used_));
  VkResult result = vkGetQueryPoolResults(
      state_.device, pool_, 0, 2 * used_, values.size() * sizeof(uint64_t), values.data(),
      2 * sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
  if (result != VK_NOT_READY) VKT_CHECK(result);
  double seconds_per_tick = double(state_.properties.limits.timestampPeriod) * 1e-9;
  for (uint32_t pair = 0; pair < used_; ++pair) {
    const uint64_t* q = &values[4 * size_t(pair)];
    if (q[1] == 0 || q[3] == 0) continue;
    uint64_t begin = q[0] & mask_, end = q[2] & mask_;
    uint64_t ticks = (end - begin) & mask_;  // the counter may wrap once between the two
    auto found = totals.find(names_[pair]);
    if (found == totals.end()) {
      KernelTime first{names_[pair].second, names_[pair].first, 0, 0};
      found = totals.emplace(names_[pair], std::move(first)).first;
    }
    ++found->second.calls;
    found->second.seconds += double(ticks) * seconds_per_tick;
  }
  used_ = 0;
}

}  // namespace vkt::detail
