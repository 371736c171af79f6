#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"

namespace vkt {

Sequence::Sequence() = default;
Sequence::~Sequence() = default;
Sequence::Sequence(Sequence&&) noexcept = default;
Sequence& Sequence::operator=(Sequence&&) noexcept = default;
Sequence::Sequence(std::unique_ptr<detail::Recording> recording) : recording_(std::move(recording)) {}
uint64_t Sequence::dispatches() const { return recording_ ? recording_->dispatches : 0; }
uint64_t Sequence::barriers() const { return recording_ ? recording_->barriers : 0; }

}  // namespace vkt

namespace vkt::detail {
namespace {

// Eager work is submitted in chunks of this many commands, so the GPU starts while the host records.
constexpr uint64_t kCommandsPerSubmission = 64;
// The host runs at most this many submissions ahead of the GPU: it bounds the memory held by
// recordings (every tensor they bind stays allocated until they finish) and the latency of reads.
constexpr size_t kMaxInFlight = 4;

constexpr VkPipelineStageFlags kDeviceStages =
    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

BufferAccess access_of(const Tensor& tensor, bool read, bool write) {
  const Allocation& allocation = *tensor.allocation();
  uint64_t begin = allocation.offset + tensor.byte_offset();
  return {reinterpret_cast<uint64_t>(allocation.buffer()), begin, begin + tensor.nbytes(), read,
          write};
}

}  // namespace

VulkanScheduler::VulkanScheduler(DeviceState& state) : state_(state) {
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = state_.queue_family;
  VKT_CHECK(vkCreateCommandPool(state_.device, &pool_info, nullptr, &pool_));

  VkSemaphoreTypeCreateInfo type_info{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  type_info.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  type_info.initialValue = 0;
  VkSemaphoreCreateInfo semaphore_info{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  semaphore_info.pNext = &type_info;
  VKT_CHECK(vkCreateSemaphore(state_.device, &semaphore_info, nullptr, &timeline_));
}

VulkanScheduler::~VulkanScheduler() {
  vkDeviceWaitIdle(state_.device);
  current_.reset();
  in_flight_.clear();
  free_.clear();
  if (timestamps_) vkDestroyQueryPool(state_.device, timestamps_, nullptr);
  vkDestroySemaphore(state_.device, timeline_, nullptr);
  vkDestroyCommandPool(state_.device, pool_, nullptr);
}

std::unique_ptr<Recording> VulkanScheduler::take_recording(bool reusable) {
  if (!reusable) {
    retire();
    if (!free_.empty()) {
      auto recording = std::move(free_.back());
      free_.pop_back();
      return recording;
    }
  }
  auto recording = std::make_unique<Recording>(state_.device, pool_, reusable);
  recording->owner = this;
  return recording;
}

Recording& VulkanScheduler::current() {
  if (capture_) return *capture_;
  if (!current_) {
    current_ = take_recording(false);
    current_->begin();
  }
  return *current_;
}

void VulkanScheduler::barrier(Recording& recording) {
  VkMemoryBarrier memory_barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  memory_barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  memory_barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                 VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(recording.command_buffer(), kDeviceStages, kDeviceStages, 0, 1,
                       &memory_barrier, 0, nullptr, 0, nullptr);
  tracker_.clear();
  ++recording.barriers;
  ++stats_.barriers;
}

void VulkanScheduler::order(Recording& recording, std::span<const BufferAccess> accesses) {
  if (tracker_.conflicts(accesses)) barrier(recording);
  tracker_.add(accesses);
}

void VulkanScheduler::dispatch(const Kernel& kernel, std::span<const Arg> args,
                               const void* push_constants, uint32_t push_size,
                               std::array<uint32_t, 3> groups) {
  record_dispatch(kernel, args, nullptr, push_constants, push_size, groups);
}

void VulkanScheduler::dispatch_windows(const Kernel& kernel, std::span<const Arg> args,
                                       const UniformWindows& windows, const void* push_constants,
                                       uint32_t push_size, std::array<uint32_t, 3> groups) {
  const std::string op(kernel.shader);
  const auto& limits = state_.properties.limits;
  VKT_REQUIRE(!windows.empty() && kUniformWindowBytes <= limits.maxUniformBufferRange &&
                  windows.size() <= limits.maxPerStageDescriptorUniformBuffers,
              op,
              std::to_string(windows.size()) + " uniform windows of " +
                  std::to_string(kUniformWindowBytes) + " bytes: the device allows 1 to " +
                  std::to_string(limits.maxPerStageDescriptorUniformBuffers) + " of " +
                  std::to_string(limits.maxUniformBufferRange) + " bytes");
  for (const UniformWindow& window : windows) {
    const Tensor& tensor = window.tensor;
    VKT_REQUIRE(tensor.defined() && tensor.allocation()->allocator == state_.allocator.get(), op,
                "a uniform window's tensor is undefined or lives on another device");
    uint64_t base = tensor.allocation()->offset + tensor.byte_offset();
    VKT_REQUIRE(window.offset < tensor.nbytes() &&
                    (base + window.offset) % limits.minUniformBufferOffsetAlignment == 0,
                op,
                "uniform window at byte " + std::to_string(window.offset) + " of a " +
                    std::to_string(tensor.nbytes()) + "-byte tensor is outside it or not a "
                    "multiple of the device's " +
                    std::to_string(limits.minUniformBufferOffsetAlignment) +
                    "-byte uniform alignment");
  }
  record_dispatch(kernel, args, &windows, push_constants, push_size, groups);
}

void VulkanScheduler::record_dispatch(const Kernel& kernel, std::span<const Arg> args,
                                      const UniformWindows* windows, const void* push_constants,
                                      uint32_t push_size, std::array<uint32_t, 3> groups) {
  const std::string op(kernel.shader);
  const auto& limits = state_.properties.limits;
  for (int i = 0; i < 3; ++i) {
    VKT_REQUIRE(groups[i] >= 1 && groups[i] <= limits.maxComputeWorkGroupCount[i], op,
                "workgroup count " + std::to_string(groups[i]) + " in dimension " +
                    std::to_string(i) + " outside [1, " +
                    std::to_string(limits.maxComputeWorkGroupCount[i]) + "]");
  }
  std::vector<BufferAccess> accesses;
  accesses.reserve(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const Tensor& tensor = args[i].tensor;
    VKT_REQUIRE(tensor.defined() && tensor.numel() > 0, op,
                "argument " + std::to_string(i) + " is an empty or undefined tensor");
    VKT_REQUIRE(tensor.allocation()->allocator == state_.allocator.get(), op,
                "argument " + std::to_string(i) + " lives on another device");
    uint64_t offset = tensor.allocation()->offset + tensor.byte_offset();
    VKT_REQUIRE(offset % limits.minStorageBufferOffsetAlignment == 0, op,
                "argument " + std::to_string(i) + " is a view at byte offset " +
                    std::to_string(tensor.byte_offset()) + ", not a multiple of the device's " +
                    std::to_string(limits.minStorageBufferOffsetAlignment) +
                    "-byte storage alignment; copy it to a tensor of its own first");
    bool read = args[i].access != Access::write;
    bool write = args[i].access != Access::read;
    accesses.push_back(access_of(tensor, read, write));
  }
  if (windows) {
    // Each tensor's windows are adjacent: one read of the bytes from its first window's start to
    // its last one's end, so that dispatches reading and writing disjoint ranges of one tensor (an
    // update in place, windowed) need no barrier between them.
    for (size_t i = 0; i < windows->size();) {
      const Tensor& tensor = (*windows)[i].tensor;
      uint64_t base = tensor.allocation()->offset + tensor.byte_offset();
      uint64_t begin = (*windows)[i].offset, end = begin;
      for (; i < windows->size() && (*windows)[i].tensor.same_storage(tensor); ++i) {
        uint64_t offset = (*windows)[i].offset;
        begin = std::min(begin, offset);
        end = std::max(end, offset + std::min<uint64_t>(kUniformWindowBytes, tensor.nbytes() - offset));
      }
      accesses.push_back({reinterpret_cast<uint64_t>(tensor.allocation()->buffer()), base + begin,
                          base + end, true, false});
    }
  }

  const uint32_t window_count = windows ? uint32_t(windows->size()) : 0;
  const PipelineEntry& entry =
      state_.pipelines->get(kernel, uint32_t(args.size()), push_size, window_count);
  stats_.pipelines_created = state_.pipelines->created();
  ProfileRecorder* profile = profiling();
  Recording& recording = current();
  order(recording, accesses);
  if (profile) profile->open(recording, kernel.shader);

  VkCommandBuffer cb = recording.command_buffer();
  if (recording.bound_pipeline != entry.pipeline) {
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, entry.pipeline);
    recording.bound_pipeline = entry.pipeline;
  }
  std::vector<VkDescriptorBufferInfo> buffers(args.size());
  std::vector<VkWriteDescriptorSet> writes(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const Tensor& tensor = args[i].tensor;
    buffers[i] = {tensor.allocation()->buffer(), tensor.allocation()->offset + tensor.byte_offset(),
                  tensor.nbytes()};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &buffers[i];
  }
  std::vector<VkDescriptorBufferInfo> window_buffers;
  if (windows) {
    for (const auto& [tensor, offset] : *windows)
      window_buffers.push_back({tensor.allocation()->buffer(),
                                tensor.allocation()->offset + tensor.byte_offset() + offset,
                                std::min<uint64_t>(kUniformWindowBytes, tensor.nbytes() - offset)});
    VkWriteDescriptorSet write{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    write.dstBinding = uint32_t(args.size());
    write.descriptorCount = window_count;
    write.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
    write.pBufferInfo = window_buffers.data();
    writes.push_back(write);
  }
  if (!writes.empty()) {
    if (state_.pipelines->push_descriptors()) {
      vkCmdPushDescriptorSetKHR(cb, VK_PIPELINE_BIND_POINT_COMPUTE, entry.layout, 0,
                                uint32_t(writes.size()), writes.data());
    } else {
      VkDescriptorSet set =
          recording.allocate_set(state_.pipelines->set_layout(uint32_t(args.size()), window_count));
      for (auto& write : writes) write.dstSet = set;
      vkUpdateDescriptorSets(state_.device, uint32_t(writes.size()), writes.data(), 0, nullptr);
      vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, entry.layout, 0, 1, &set, 0,
                              nullptr);
    }
  }
  if (push_size > 0)
    vkCmdPushConstants(cb, entry.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push_constants);
  vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
  if (profile) profile->close(recording);

  for (const Arg& arg : args) recording.retain(arg.tensor.allocation());
  if (windows)
    for (const UniformWindow& window : *windows) recording.retain(window.tensor.allocation());
  ++recording.dispatches;
  ++recording.commands;
  ++stats_.dispatches;
  if (!capture_ && recording.commands >= kCommandsPerSubmission) flush();
}

void VulkanScheduler::copy(const Tensor& src, const Tensor& dst) {
  VKT_REQUIRE(src.defined() && dst.defined() && src.nbytes() == dst.nbytes(), "copy",
              "source " + shape_str(src.shape()) + " " + dtype_name(src.dtype()) + " and destination " +
                  shape_str(dst.shape()) + " " + dtype_name(dst.dtype()) + " differ in size");
  if (src.nbytes() == 0) return;
  VkBufferCopy region{0, 0, src.nbytes()};
  copy_regions(src, dst, {&region, 1});
}

void VulkanScheduler::copy_regions(const Tensor& src, const Tensor& dst,
                                   std::span<const VkBufferCopy> regions, std::string_view name) {
  for (const VkBufferCopy& r : regions)
    VKT_REQUIRE(r.size > 0 && r.srcOffset + r.size <= src.nbytes() &&
                    r.dstOffset + r.size <= dst.nbytes(),
                "copy", "a region of " + std::to_string(r.size) + " bytes from " +
                            std::to_string(r.srcOffset) + " to " + std::to_string(r.dstOffset) +
                            " is outside the tensors (" + std::to_string(src.nbytes()) + " and " +
                            std::to_string(dst.nbytes()) + " bytes)");
  if (regions.empty()) return;
  ProfileRecorder* profile = profiling();
  Recording& recording = current();
  BufferAccess accesses[] = {access_of(src, true, false), access_of(dst, false, true)};
  order(recording, accesses);
  if (profile) profile->open(recording, name);
  std::vector<VkBufferCopy> absolute(regions.begin(), regions.end());
  for (VkBufferCopy& r : absolute) {
    r.srcOffset += accesses[0].begin;
    r.dstOffset += accesses[1].begin;
  }
  // In batches: the validation layer checks a copy's regions pairwise for overlap, which made a
  // packed matmul's thousands of rows take seconds in one command. The regions are disjoint, so
  // the commands need no barrier between them.
  constexpr size_t kRegionsPerCommand = 32;
  for (size_t first = 0; first < absolute.size(); first += kRegionsPerCommand)
    vkCmdCopyBuffer(recording.command_buffer(), src.allocation()->buffer(),
                    dst.allocation()->buffer(),
                    uint32_t(std::min(kRegionsPerCommand, absolute.size() - first)),
                    absolute.data() + first);
  if (profile) profile->close(recording);
  recording.retain(src.allocation());
  recording.retain(dst.allocation());
  ++recording.commands;
  ++stats_.transfers;
}

void VulkanScheduler::upload(const Tensor& dst, const void* data, size_t bytes) {
  VKT_REQUIRE(bytes == dst.nbytes(), "upload",
              std::to_string(bytes) + " bytes given for a tensor " + shape_str(dst.shape()) +
                  " of " + std::to_string(dst.nbytes()) + " bytes");
  if (bytes == 0) return;
  auto staging = state_.allocator->allocate(bytes, MemoryKind::upload, "upload");
  std::memcpy(staging->mapped(), data, bytes);
  ProfileRecorder* profile = profiling();
  Recording& recording = current();
  BufferAccess access = access_of(dst, false, true);
  order(recording, {&access, 1});
  if (profile) profile->open(recording, "upload");
  VkBufferCopy region{staging->offset, access.begin, bytes};
  vkCmdCopyBuffer(recording.command_buffer(), staging->buffer(), dst.allocation()->buffer(), 1,
                  &region);
  if (profile) profile->close(recording);
  recording.retain(staging);
  recording.retain(dst.allocation());
  ++recording.commands;
  ++stats_.transfers;
}

void VulkanScheduler::download(const Tensor& src, void* data, size_t bytes) {
  VKT_REQUIRE(!capture_, "to_host", "cannot read a tensor back while capturing a sequence");
  VKT_REQUIRE(bytes == src.nbytes(), "to_host", "size mismatch");
  if (bytes == 0) return;
  auto staging = state_.allocator->allocate(bytes, MemoryKind::readback, "to_host");
  ProfileRecorder* profile = profiling();
  Recording& recording = current();
  BufferAccess access = access_of(src, true, false);
  order(recording, {&access, 1});
  if (profile) profile->open(recording, "download");
  VkBufferCopy region{access.begin, staging->offset, bytes};
  VkCommandBuffer cb = recording.command_buffer();
  vkCmdCopyBuffer(cb, src.allocation()->buffer(), staging->buffer(), 1, &region);
  if (profile) profile->close(recording);
  // Make the copy visible to the host; this orders nothing on the device, so it is not counted.
  VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &to_host, 0, nullptr, 0, nullptr);
  recording.retain(src.allocation());
  ++recording.commands;
  ++stats_.transfers;
  flush();
  wait(next_value_ - 1);
  std::memcpy(data, staging->mapped(), bytes);
}

void VulkanScheduler::submit(Recording& recording) {
  uint64_t value = next_value_++;
  VkTimelineSemaphoreSubmitInfo timeline_info{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  timeline_info.signalSemaphoreValueCount = 1;
  timeline_info.pSignalSemaphoreValues = &value;
  VkSubmitInfo submit_info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit_info.pNext = &timeline_info;
  VkCommandBuffer cb = recording.command_buffer();
  submit_info.commandBufferCount = 1;
  submit_info.pCommandBuffers = &cb;
  submit_info.signalSemaphoreCount = 1;
  submit_info.pSignalSemaphores = &timeline_;
  VKT_CHECK(vkQueueSubmit(state_.queue, 1, &submit_info, VK_NULL_HANDLE));
  recording.last_submitted = value;
  ++stats_.submissions;
}

void VulkanScheduler::flush() {
  if (!current_ || current_->commands == 0) return;
  current_->end();
  std::unique_ptr<Recording> recording = std::move(current_);
  try {
    submit(*recording);
  } catch (...) {
    recording->reset();
    free_.push_back(std::move(recording));
    throw;
  }
  uint64_t value = recording->last_submitted;
  in_flight_.emplace_back(value, std::move(recording));
  if (in_flight_.size() > kMaxInFlight) wait(in_flight_.front().first);
}

uint64_t VulkanScheduler::completed_value() {
  VKT_CHECK(vkGetSemaphoreCounterValue(state_.device, timeline_, &completed_));
  return completed_;
}

void VulkanScheduler::retire() {
  if (in_flight_.empty()) return;
  completed_value();
  while (!in_flight_.empty() && in_flight_.front().first <= completed_) {
    std::unique_ptr<Recording> recording = std::move(in_flight_.front().second);
    in_flight_.pop_front();
    recording->reset();
    free_.push_back(std::move(recording));
  }
}

void VulkanScheduler::wait(uint64_t value) {
  if (value == 0 || completed_ >= value) return;
  VkSemaphoreWaitInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  info.semaphoreCount = 1;
  info.pSemaphores = &timeline_;
  info.pValues = &value;
  // Wait in slices so a lost device surfaces as VK_ERROR_DEVICE_LOST rather than a hang.
  for (;;) {
    VkResult result = vkWaitSemaphores(state_.device, &info, 1'000'000'000ull);
    if (result == VK_SUCCESS) break;
    if (result != VK_TIMEOUT) VKT_CHECK(result);
  }
  retire();
}

void VulkanScheduler::synchronize() {
  VKT_REQUIRE(!capture_, "synchronize", "cannot wait for the device while capturing a sequence");
  flush();
  wait(next_value_ - 1);
}

Sequence VulkanScheduler::capture(const std::function<void()>& body) {
  VKT_REQUIRE(!capture_, "capture", "captures do not nest");
  flush();
  std::unique_ptr<Recording> recording = take_recording(true);
  recording->keep_device_alive = std::shared_ptr<void>(state_.self.lock());
  recording->begin();
  HazardTracker eager_state = tracker_;
  // The sequence cannot know what ran before each replay: it starts with a barrier.
  barrier(*recording);
  capture_ = recording.get();
  try {
    body();
  } catch (...) {
    capture_ = nullptr;
    tracker_ = eager_state;
    recording->end();
    throw;
  }
  capture_ = nullptr;
  recording->end_state = tracker_;
  tracker_ = eager_state;
  recording->end();
  return Sequence(std::move(recording));
}

void VulkanScheduler::replay(const Sequence& sequence) {
  VKT_REQUIRE(sequence.valid(), "replay", "the sequence is empty (moved from or never captured)");
  VKT_REQUIRE(!capture_, "replay", "cannot replay while capturing");
  Recording& recording = sequence.recording();
  VKT_REQUIRE(recording.owner == this, "replay", "the sequence was captured on another device");
  ProfileRecorder* profile = profiling();
  if (profile) {  // one pair around the whole sequence, in the submissions before and after it
    Recording& before = current();
    profile->open(before, "replay");
    ++before.commands;
  }
  flush();
  submit(recording);
  if (profile) {  // submitted at once, so the host's next steps do not count as the sequence's
    Recording& after = current();
    profile->close(after);
    ++after.commands;
    flush();
  }
  // The sequence starts with a barrier, so only what it did after its last barrier is pending.
  tracker_ = recording.end_state;
  stats_.dispatches += recording.dispatches;
  stats_.barriers += recording.barriers;
}

ProfileRecorder* VulkanScheduler::profiling() {
  if (!profiling_ || capture_) return nullptr;
  if (profile_->full()) {
    synchronize();
    profile_->harvest();
  }
  return profile_.get();
}

void VulkanScheduler::start_profiling() {
  VKT_REQUIRE(!profiling_, "Profiler", "this device already has a profiler; one at a time");
  VKT_REQUIRE(!capture_, "Profiler", "cannot start profiling while capturing a sequence");
  VKT_REQUIRE(state_.info.timestamp_queries, "Profiler",
              state_.info.name + "'s compute queue writes no timestamps");
  if (!profile_) profile_ = std::make_unique<ProfileRecorder>(state_, Profiler::kPairsPerHarvest);
  reset_profile();
  profiling_ = true;
}

std::vector<KernelTime> VulkanScheduler::profile_totals() {
  synchronize();
  std::vector<KernelTime> kernels;
  if (!profile_) return kernels;
  profile_->harvest();
  for (const auto& entry : profile_->totals) kernels.push_back(entry.second);
  return kernels;
}

size_t VulkanScheduler::push_scope(std::string_view label, std::string_view suffix) {
  if (!profiling_) return std::string::npos;
  std::string& scope = profile_->scope;
  size_t previous = scope.size();
  if (!scope.empty()) scope += '/';
  scope += label;
  scope += suffix;
  return previous;
}

// Scopes end in the reverse order of their start (they live on the stack): this drops the label.
void VulkanScheduler::pop_scope(size_t previous) {
  if (previous != std::string::npos && profile_ && previous < profile_->scope.size())
    profile_->scope.resize(previous);
}

void VulkanScheduler::reset_profile() {
  if (!profile_) return;
  if (profile_->pending()) synchronize();
  profile_->harvest();
  profile_->totals.clear();
}

}  // namespace vkt::detail
