// vkt::Profiler: starts and stops the scheduler's timestamp pairs and formats what they measured.
#include "vktrain/profiler.hpp"

#include <algorithm>
#include <cstdio>

#include "core/scheduler_impl.hpp"
#include "core/state.hpp"

namespace vkt {

struct Profiler::Impl {
  Device device;
  detail::VulkanScheduler& scheduler;
};

Profiler::Profiler(const Device& device)
    : impl_(std::make_unique<Impl>(Impl{device, *device.shared_state()->scheduler})) {
  impl_->scheduler.start_profiling();
}

// Pairs still in flight stay valid: the scheduler keeps the recorder until it is destroyed.
Profiler::~Profiler() { impl_->scheduler.stop_profiling(); }

std::vector<KernelTime> Profiler::kernels() {
  std::vector<KernelTime> kernels = impl_->scheduler.profile_totals();
  std::sort(kernels.begin(), kernels.end(), [](const KernelTime& a, const KernelTime& b) {
    return a.seconds != b.seconds ? a.seconds > b.seconds : a.name < b.name;
  });
  return kernels;
}

double Profiler::total_seconds() {
  double total = 0;
  for (const KernelTime& kernel : impl_->scheduler.profile_totals()) total += kernel.seconds;
  return total;
}

void Profiler::reset() { impl_->scheduler.reset_profile(); }

std::string Profiler::table(size_t rows, double per) { return profile_table(kernels(), rows, per); }

std::string profile_table(const std::vector<KernelTime>& all, size_t rows, double per) {
  double total = 0;
  for (const KernelTime& kernel : all) total += kernel.seconds;
  std::string text;
  char line[160];
  auto add = [&](const std::string& name, double calls, double seconds) {
    std::snprintf(line, sizeof line, "%-28s %10.*f %12.3f %12.4f %7.1f%%\n", name.c_str(),
                  per == 1 ? 0 : 1, calls / per, seconds / per * 1e3,
                  calls > 0 ? seconds / calls * 1e3 : 0.0, total > 0 ? 100 * seconds / total : 0.0);
    text += line;
  };
  std::snprintf(line, sizeof line, "%-28s %10s %12s %12s %8s\n", "kernel", "calls", "ms",
                "ms/call", "share");
  text += line;
  double rest_calls = 0, rest_seconds = 0, all_calls = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    all_calls += double(all[i].calls);
    if (i < rows) {
      add(all[i].name, double(all[i].calls), all[i].seconds);
    } else {
      rest_calls += double(all[i].calls);
      rest_seconds += all[i].seconds;
    }
  }
  if (all.size() > rows) add("(" + std::to_string(all.size() - rows) + " more)", rest_calls, rest_seconds);
  add("total", all_calls, total);
  return text;
}

}  // namespace vkt
