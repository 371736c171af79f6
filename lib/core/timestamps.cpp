// Device timestamps (Scheduler::timestamp): a ring of kTimestampSlots queries, each reset and
// written in the command stream right where it is asked for.
#include "core/check.hpp"
#include "core/recording.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"

namespace vkt::detail {

uint64_t VulkanScheduler::timestamp() {
  VKT_REQUIRE(!capture_, "timestamp", "timestamps cannot be recorded into a captured sequence");
  if (!timestamps_) {
    uint32_t bits = state_.info.timestamp_valid_bits;
    VKT_REQUIRE(bits > 0, "timestamp", state_.info.name + "'s compute queue writes no timestamps");
    timestamp_mask_ = bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
    VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = uint32_t(kTimestampSlots);
    VKT_CHECK(vkCreateQueryPool(state_.device, &info, nullptr, &timestamps_));
  }
  uint64_t id = next_timestamp_++;
  uint32_t slot = uint32_t(id % kTimestampSlots);
  Recording& recording = current();
  VkCommandBuffer cb = recording.command_buffer();
  vkCmdResetQueryPool(cb, timestamps_, slot, 1);
  // Bottom of pipe: written once every earlier command has completed.
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, timestamps_, slot);
  ++recording.commands;
  return id;
}

double VulkanScheduler::timestamp_seconds(uint64_t id) {
  VKT_REQUIRE(id < next_timestamp_ && next_timestamp_ - id <= kTimestampSlots, "timestamp_seconds",
              "timestamp " + std::to_string(id) + " is not one of the last " +
                  std::to_string(kTimestampSlots) + " recorded (" +
                  std::to_string(next_timestamp_) + " so far)");
  synchronize();
  uint64_t ticks = 0;
  VKT_CHECK(vkGetQueryPoolResults(state_.device, timestamps_, uint32_t(id % kTimestampSlots), 1,
                                  sizeof(ticks), &ticks, sizeof(ticks),
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  return double(ticks & timestamp_mask_) * double(state_.properties.limits.timestampPeriod) * 1e-9;
}

}  // namespace vkt::detail
