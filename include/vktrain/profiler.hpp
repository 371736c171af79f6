// Device time per kernel: the analogue of torch.profiler's kernel table.
//
// While a Profiler is alive, every dispatch, copy and transfer recorded eagerly on its device is
// bracketed by two device timestamps, and replay() of a captured sequence by two around the whole
// sequence ("replay"). kernels() waits for the device and sums the intervals by name (the shader,
// "copy", "upload", "download", "replay"). Dispatches recorded while capturing are not bracketed:
// profile an eager step (the trainers' --no-capture) to see inside one.
//
//   vkt::Profiler profiler(device);
//   for (int i = 0; i < 10; ++i) train_step();
//   std::fputs(profiler.table().c_str(), stdout);
//
// What the numbers mean: each interval runs from the moment the command could start (everything
// recorded before it finished, its command buffer executing) to its end. On devices that run one
// command after another (lavapipe) that is the command's own time; on GPUs, where independent
// dispatches between two barriers overlap, a command's share is approximate and the sum is the
// device time of the profiled work. Time the device sits idle waiting for the host is charged to
// nobody: compare total_seconds() with wall time to see the host's share. Profiling adds two
// timestamps a command and, every kPairsPerHarvest commands, a host wait: it slows what it
// measures a little.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vktrain/device.hpp"

namespace vkt {

struct KernelTime {
  std::string name;    // the shader (shaders/<name>.comp), or copy / upload / download / replay
  uint64_t calls = 0;
  double seconds = 0;  // device time, summed over the calls
};

class Profiler {
 public:
  // Starts profiling `device`: one profiler per device at a time; the device must write
  // timestamps (DeviceInfo::timestamp_queries). Throws vkt::Error otherwise, or while capturing.
  explicit Profiler(const Device& device);
  ~Profiler();  // stops profiling (waits for the commands it bracketed)
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  static constexpr uint32_t kPairsPerHarvest = 1024;

  // Waits for the device; the kernels so far by total time, largest first (ties by name).
  std::vector<KernelTime> kernels();
  double total_seconds();
  // Forgets everything measured so far (after a warm-up, say).
  void reset();
  // kernels() as a text table: name, calls, ms, ms per call, share of the total; the first `rows`
  // kernels, one line for the rest and the total. `per` divides calls and ms (by the steps
  // profiled, say, for a table per step).
  std::string table(size_t rows = 20, double per = 1);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Profiler::table's format for kernels kept from an earlier profile (largest first).
std::string profile_table(const std::vector<KernelTime>& kernels, size_t rows = 20, double per = 1);

}  // namespace vkt
