// The Vulkan implementation of vkt::Scheduler (see include/vktrain/scheduler.hpp for the contract).
#pragma once

#include <volk.h>

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/hazard.hpp"
#include "core/profile_recorder.hpp"
#include "core/recording.hpp"
#include "vktrain/scheduler.hpp"

namespace vkt::detail {

struct DeviceState;

// The bytes one uniform-buffer window covers: the smallest maxUniformBufferRange the spec allows
// is 16 KiB, lavapipe's (and most GPUs') is 64 KiB.
constexpr uint64_t kUniformWindowBytes = 64 * 1024;
// The windows every windowed kernel declares and binds per dispatch (shaders/common/
// uniform_windows.glsl: kWindows): lavapipe allows 15 uniform buffers per stage.
constexpr uint32_t kDispatchWindows = 14;

// An array of uniform-buffer windows, bound after a dispatch's storage buffers: window i covers
// bytes [offset, offset + min(kUniformWindowBytes, what is left)) of its tensor, and the dispatch
// reads, for the hazard tracker, the span of each tensor's windows (a tensor's windows adjacent). llvmpipe loads from uniform buffers at a
// non-uniform offset with a branch-free gather, where a storage-buffer load is a per-lane loop
// (docs/performance-notes.md, 2026-12-03): the packed matmul reads its operands this way.
struct UniformWindow {
  Tensor tensor;
  uint64_t offset;
};
using UniformWindows = std::vector<UniformWindow>;

class VulkanScheduler final : public Scheduler {
 public:
  explicit VulkanScheduler(DeviceState& state);
  ~VulkanScheduler() override;

  void dispatch(const Kernel& kernel, std::span<const Arg> args, const void* push_constants,
                uint32_t push_size, std::array<uint32_t, 3> groups) override;
  // dispatch() with `windows` bound at binding args.size(); checks the device's uniform limits.
  void dispatch_windows(const Kernel& kernel, std::span<const Arg> args,
                        const UniformWindows& windows, const void* push_constants,
                        uint32_t push_size, std::array<uint32_t, 3> groups);
  void copy(const Tensor& src, const Tensor& dst) override;
  // One transfer of byte ranges from src to dst (offsets relative to the tensors), hazard-tracked
  // as a read of all of src and a write of all of dst; `name` is its row in vkt::Profiler.
  void copy_regions(const Tensor& src, const Tensor& dst, std::span<const VkBufferCopy> regions,
                    std::string_view name = "copy");
  void flush() override;
  void synchronize() override;
  Sequence capture(const std::function<void()>& body) override;
  void replay(const Sequence& sequence) override;
  bool capturing() const override { return capture_ != nullptr; }
  SchedulerStats stats() const override { return stats_; }
  uint64_t timestamp() override;                   // lib/core/timestamps.cpp
  double timestamp_seconds(uint64_t id) override;

  // Host <-> device transfers through staging memory.
  void upload(const Tensor& dst, const void* data, size_t bytes);
  void download(const Tensor& src, void* data, size_t bytes);

  // Waits until the timeline reaches `value` (and recycles finished recordings).
  void wait(uint64_t value);
  uint64_t completed_value();

  // vkt::Profiler (lib/core/profiler.cpp): brackets eager commands with timestamp pairs while on.
  void start_profiling();
  void stop_profiling() { profiling_ = false; }
  // Waits for the device and returns the totals so far, by name; reset_profile() forgets them.
  std::vector<KernelTime> profile_totals();
  void reset_profile();
  // vkt::ProfileScope: appends label + suffix to the current scope while profiling and returns the
  // scope's length before it (npos when not profiling: nothing to undo); pop_scope undoes it.
  size_t push_scope(std::string_view label, std::string_view suffix);
  void pop_scope(size_t previous);

 private:
  // The recorder when eager commands are profiled (harvested first when full), else null. Call it
  // before current(): a harvest synchronizes, which submits the current recording.
  ProfileRecorder* profiling();
  Recording& current();
  std::unique_ptr<Recording> take_recording(bool reusable);
  void record_dispatch(const Kernel& kernel, std::span<const Arg> args,
                       const UniformWindows* windows, const void* push_constants,
                       uint32_t push_size, std::array<uint32_t, 3> groups);
  // Emits a barrier first when the accesses conflict with earlier ones, then records them.
  void order(Recording& recording, std::span<const BufferAccess> accesses);
  void barrier(Recording& recording);
  void submit(Recording& recording);
  void retire();

  DeviceState& state_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkSemaphore timeline_ = VK_NULL_HANDLE;
  uint64_t next_value_ = 1;
  uint64_t completed_ = 0;

  HazardTracker tracker_;
  std::unique_ptr<Recording> current_;
  Recording* capture_ = nullptr;  // the sequence being captured, if any
  std::deque<std::pair<uint64_t, std::unique_ptr<Recording>>> in_flight_;
  std::vector<std::unique_ptr<Recording>> free_;
  SchedulerStats stats_;

  VkQueryPool timestamps_ = VK_NULL_HANDLE;  // kTimestampSlots queries, created on first use
  uint64_t next_timestamp_ = 0;
  uint64_t timestamp_mask_ = 0;  // the queue's timestampValidBits as a mask

  std::unique_ptr<ProfileRecorder> profile_;  // kept until the scheduler goes: work may use it
  bool profiling_ = false;
};

}  // namespace vkt::detail
