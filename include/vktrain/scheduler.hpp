// The command scheduler: records dispatches into command buffers and orders them.
//
// Each dispatch names a kernel (an embedded shader plus specialization constants), the tensors it
// binds with their access (read, write, read-write), push constants and a grid. The scheduler tracks,
// per buffer range, the writes and reads since the last barrier and emits a barrier only when a new
// access conflicts (read-after-write, write-after-read, write-after-write); independent dispatches
// share none. Work is submitted asynchronously on a timeline semaphore, in chunks while recording
// goes on; the host waits only when it reads a result (Tensor::to_host) or calls synchronize().
//
// capture() records a sequence of ops once into a reusable command buffer; replay() submits it again
// with no recording on the host. Values that change between replays (a step counter, an RNG offset)
// live in small device tensors the sequence reads and updates itself.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "vktrain/tensor.hpp"

namespace vkt {

enum class Access : uint8_t { read, write, read_write };

struct Arg {
  Tensor tensor;
  Access access;
};
inline Arg in(const Tensor& t) { return {t, Access::read}; }
inline Arg out(const Tensor& t) { return {t, Access::write}; }
inline Arg inout(const Tensor& t) { return {t, Access::read_write}; }

// A kernel: the embedded shader's name (shaders/<name>.comp) and its specialization constants
// (constant_id i gets spec[i]; constant 0 is the kernel's one-dimensional workgroup size).
struct Kernel {
  std::string_view shader;
  std::vector<uint32_t> spec;
};

struct SchedulerStats {
  uint64_t dispatches = 0;
  uint64_t barriers = 0;
  uint64_t transfers = 0;
  uint64_t submissions = 0;
  uint64_t pipelines_created = 0;
};

namespace detail {
class Recording;
}

// A captured sequence; replay it with Scheduler::replay. It keeps alive every tensor it binds.
class Sequence {
 public:
  Sequence();
  ~Sequence();
  Sequence(Sequence&&) noexcept;
  Sequence& operator=(Sequence&&) noexcept;
  uint64_t dispatches() const;
  uint64_t barriers() const;
  bool valid() const { return recording_ != nullptr; }

  explicit Sequence(std::unique_ptr<detail::Recording> recording);
  detail::Recording& recording() const { return *recording_; }

 private:
  std::unique_ptr<detail::Recording> recording_;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Records one dispatch of groups[0] x groups[1] x groups[2] workgroups.
  virtual void dispatch(const Kernel& kernel, std::span<const Arg> args, const void* push_constants,
                        uint32_t push_size, std::array<uint32_t, 3> groups) = 0;
  template <class PushConstants>
  void dispatch(const Kernel& kernel, std::initializer_list<Arg> args, const PushConstants& push,
                std::array<uint32_t, 3> groups) {
    dispatch(kernel, std::span<const Arg>(args.begin(), args.size()), &push,
             static_cast<uint32_t>(sizeof(PushConstants)), groups);
  }

  // Copies bytes between tensors (a transfer, hazard-tracked like a dispatch).
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;

  // Submits what has been recorded; returns at once.
  virtual void flush() = 0;
  // Waits until everything submitted so far is done.
  virtual void synchronize() = 0;

  // Records everything `body` does on this device into a Sequence instead of running it.
  virtual Sequence capture(const std::function<void()>& body) = 0;
  virtual void replay(const Sequence& sequence) = 0;
  virtual bool capturing() const = 0;

  virtual SchedulerStats stats() const = 0;

  // Device timestamps, where DeviceInfo::timestamp_queries says so: timestamp() records one that
  // the device writes once all work recorded before it has finished and returns its id;
  // timestamp_seconds(id) waits for it (synchronizing) and returns the device clock in seconds, so
  // the difference of two is the device time between them. The last kTimestampSlots ids stay
  // readable. Not while capturing. vktrain-bench times kernels with them.
  static constexpr uint64_t kTimestampSlots = 256;
  virtual uint64_t timestamp() = 0;
  virtual double timestamp_seconds(uint64_t id) = 0;
};

}  // namespace vkt
