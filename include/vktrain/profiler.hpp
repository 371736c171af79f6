// Device time per kernel: the analogue of torch.profiler's kernel table.
//
// While a Profiler is alive, every dispatch, copy and transfer recorded eagerly on its device is
// bracketed by two device timestamps, and replay() of a captured sequence by two around the whole
// sequence ("replay"). kernels() waits for the device and sums the intervals by name (the shader,
// "copy", "upload", "download", "replay"). Dispatches recorded while capturing are not bracketed:
// profile an eager step (the trainers' --no-capture) to see inside one.
//
// A ProfileScope labels what is recorded while it lives, as torch.profiler.record_function does:
// the totals are kept by (scope, name). backward() opens one per op ("conv2d.backward"), so the
// forward's conv2d_subgroup dispatches and the backward's are two rows.
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
#include <string_view>
#include <vector>

#include "vktrain/device.hpp"

namespace vkt {

struct KernelTime {
  std::string name;    // the shader (shaders/<name>.comp), copy / upload / download / replay, or a
                       // named copy (matmul_pack_copy: the packed matmul copying panels)
  std::string scope;   // the ProfileScopes open when recorded, outermost first, joined by "/"
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

  // Waits for the device; the kernels so far, one per (scope, name), by total time, largest first
  // (ties by scope, then name).
  std::vector<KernelTime> kernels();
  double total_seconds();
  // Forgets everything measured so far (after a warm-up, say).
  void reset();
  // kernels() as a text table: scope/name, calls, ms, ms per call, share of the total; the first
  // `rows` kernels, one line for the rest and the total. `per` divides calls and ms (by the steps
  // profiled, say, for a table per step).
  std::string table(size_t rows = 20, double per = 1);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Labels the commands recorded on `device` while it lives (see the top of this file). Scopes nest:
// the labels join with "/". Free when no Profiler is on; a scope opened before a profiler started
// labels nothing. `label` must not be empty. The two-part form labels with label + suffix, joined
// only while a Profiler is on: free of allocations otherwise (backward() opens one per node).
class ProfileScope {
 public:
  ProfileScope(const Device& device, std::string_view label, std::string_view suffix = {});
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Device device_;
  size_t previous_;  // the scope's length before this one, or npos when it labels nothing
};

// Profiler::table's format for kernels kept from an earlier profile (largest first).
std::string profile_table(const std::vector<KernelTime>& kernels, size_t rows = 20, double per = 1);
// The kernel's row name in profile_table: "scope/name", or the name outside any scope.
std::string profile_row_name(const KernelTime& kernel);
// The totals by name alone, scopes merged (largest first).
std::vector<KernelTime> merge_scopes(const std::vector<KernelTime>& kernels);

}  // namespace vkt
