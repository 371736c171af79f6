// vkt::Profiler: starts and stops the scheduler's timestamp pairs and formats what they measured;
// vkt::ProfileScope: the labels they are kept under.
#include "vktrain/profiler.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/check.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"

namespace vkt {

namespace {
detail::VulkanScheduler& scheduler_of(const Device& device) {
  return *device.shared_state()->scheduler;
}

void sort_largest_first(std::vector<KernelTime>& kernels) {
  std::sort(kernels.begin(), kernels.end(), [](const KernelTime& a, const KernelTime& b) {
    if (a.seconds != b.seconds) return a.seconds > b.seconds;
    return a.scope != b.scope ? a.scope < b.scope : a.name < b.name;
  });
}

double sum_seconds(const std::vector<KernelTime>& kernels) {
  double total = 0;
  for (const KernelTime& kernel : kernels) total += kernel.seconds;
  return total;
}
}  // namespace

struct Profiler::Impl {
  Device device;
  detail::VulkanScheduler& scheduler;
};

Profiler::Profiler(const Device& device)
    : impl_(std::make_unique<Impl>(Impl{device, scheduler_of(device)})) {
  impl_->scheduler.start_profiling();
}

// Pairs still in flight stay valid: the scheduler keeps the recorder until it is destroyed.
Profiler::~Profiler() { impl_->scheduler.stop_profiling(); }

std::vector<KernelTime> Profiler::kernels() {
  std::vector<KernelTime> kernels = impl_->scheduler.profile_totals();
  sort_largest_first(kernels);
  return kernels;
}

double Profiler::total_seconds() { return sum_seconds(impl_->scheduler.profile_totals()); }

void Profiler::reset() { impl_->scheduler.reset_profile(); }

std::string Profiler::table(size_t rows, double per) { return profile_table(kernels(), rows, per); }

ProfileScope::ProfileScope(const Device& device, std::string_view label, std::string_view suffix)
    : device_(device) {
  VKT_REQUIRE(!label.empty(), "ProfileScope", "the label is empty");
  previous_ = scheduler_of(device_).push_scope(label, suffix);
}

ProfileScope::~ProfileScope() { scheduler_of(device_).pop_scope(previous_); }

std::string profile_row_name(const KernelTime& kernel) {
  return kernel.scope.empty() ? kernel.name : kernel.scope + "/" + kernel.name;
}

std::vector<KernelTime> merge_scopes(const std::vector<KernelTime>& kernels) {
  std::map<std::string, KernelTime> by_name;
  for (const KernelTime& kernel : kernels) {
    KernelTime& merged = by_name.try_emplace(kernel.name, KernelTime{kernel.name, "", 0, 0}).first->second;
    merged.calls += kernel.calls;
    merged.seconds += kernel.seconds;
  }
  std::vector<KernelTime> merged;
  for (auto& entry : by_name) merged.push_back(std::move(entry.second));
  sort_largest_first(merged);
  return merged;
}

std::string profile_table(const std::vector<KernelTime>& all, size_t rows, double per) {
  double total = sum_seconds(all);
  int width = 28;
  for (size_t i = 0; i < all.size() && i < rows; ++i)
    width = std::max(width, int(profile_row_name(all[i]).size()));
  std::string text;
  char line[320];
  auto add = [&](const std::string& name, double calls, double seconds) {
    std::snprintf(line, sizeof line, "%-*s %10.*f %12.3f %12.4f %7.1f%%\n", width, name.c_str(),
                  per == 1 ? 0 : 1, calls / per, seconds / per * 1e3,
                  calls > 0 ? seconds / calls * 1e3 : 0.0, total > 0 ? 100 * seconds / total : 0.0);
    text += line;
  };
  std::snprintf(line, sizeof line, "%-*s %10s %12s %12s %8s\n", width, "kernel", "calls", "ms",
                "ms/call", "share");
  text += line;
  double rest_calls = 0, rest_seconds = 0, all_calls = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    all_calls += double(all[i].calls);
    if (i < rows) {
      add(profile_row_name(all[i]), double(all[i].calls), all[i].seconds);
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
