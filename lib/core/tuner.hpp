// The autotuner: which of several interchangeable kernels runs fastest for a class of problems on
// this device. Each candidate is timed once (only when autotuning is on, DeviceOptions::autotune),
// and the choices are kept in a text file beside the pipeline cache, one "key<TAB>choice" a line,
// written atomically, so later processes on the same device and driver reuse them. The candidates
// must compute identical results (the ops' kernels do, vktrain/ops/kernel.hpp), so tuning changes
// speed only, never numbers.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vkt::detail {

class Tuner {
 public:
  // `file` empty: choices live for this process only.
  Tuner(std::filesystem::path file, bool enabled);

  bool enabled() const { return enabled_; }
  // No choice remembered (from the file or this process).
  bool empty();
  // The remembered choice for `key`, if it is one of `candidates`.
  std::optional<std::string> remembered(const std::string& key,
                                        const std::vector<std::string>& candidates);
  // Times every candidate with `seconds(i)` (which runs candidate i on scratch data), remembers
  // the fastest for `key`, saves the file and returns it.
  std::string tune(const std::string& key, const std::vector<std::string>& candidates,
                   const std::function<double(size_t)>& seconds);

 private:
  void save_locked() const;

  std::filesystem::path file_;
  bool enabled_;
  std::mutex mutex_;
  std::map<std::string, std::string> choices_;
};

}  // namespace vkt::detail
