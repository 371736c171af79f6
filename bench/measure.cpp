// Timing (warm-up, calibration, medians) and the device's ceilings (bench_fma, bench_copy).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "bench.hpp"
#include "core/scheduler_impl.hpp"
#include "core/state.hpp"

namespace vkt::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A 1-D grid of `invocations` in groups of `group`, folded into y past 65535 groups (the shaders
// index with global_index() from shaders/common/index.glsl).
std::array<uint32_t, 3> grid(uint64_t invocations, uint32_t group) {
  uint64_t groups = std::max<uint64_t>(1, (invocations + group - 1) / group);
  uint64_t x = std::min<uint64_t>(groups, 65535);
  return {uint32_t(x), uint32_t((groups + x - 1) / x), 1};
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

bool selected(const Options& options, const std::string& name) {
  return options.filter.empty() || name.find(options.filter) != std::string::npos;
}

std::vector<float> random_values(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

std::vector<Timing> measure_interleaved(const Device& device,
                                        const std::vector<std::function<void()>>& bodies,
                                        const Options& options) {
  Scheduler& scheduler = device.scheduler();
  const bool device_clock = device.info().timestamp_queries;
  // Warm-up: pipelines are created and memory first touched here, not in a timed repetition.
  std::vector<int> inner;
  for (const auto& body : bodies) {
    body();
    device.synchronize();
    auto start = Clock::now();
    body();
    device.synchronize();
    double once = std::max(seconds_since(start), 1e-7);
    inner.push_back(int(std::clamp(std::round(options.target_seconds / once), 1.0, 10000.0)));
  }

  std::vector<std::vector<double>> samples(bodies.size()), host(bodies.size());
  for (int r = 0; r < options.repetitions; ++r) {
    for (size_t b = 0; b < bodies.size(); ++b) {
      auto start = Clock::now();
      uint64_t first = device_clock ? scheduler.timestamp() : 0;
      for (int i = 0; i < inner[b]; ++i) bodies[b]();
      uint64_t last = device_clock ? scheduler.timestamp() : 0;
      device.synchronize();
      host[b].push_back(seconds_since(start) / inner[b]);
      if (device_clock)
        samples[b].push_back(
            (scheduler.timestamp_seconds(last) - scheduler.timestamp_seconds(first)) / inner[b]);
    }
  }
  std::vector<Timing> timings;
  for (size_t b = 0; b < bodies.size(); ++b) {
    std::vector<double>& s = device_clock ? samples[b] : host[b];
    std::sort(s.begin(), s.end());
    Timing timing;
    timing.median_s = median(s);
    timing.host_median_s = median(host[b]);
    timing.device_clock = device_clock;
    timing.min_s = s.front();
    timing.max_s = s.back();
    timing.repetitions = int(s.size());
    timing.inner = inner[b];
    timings.push_back(timing);
  }
  return timings;
}

Timing measure(const Device& device, const std::function<void()>& body, const Options& options) {
  return measure_interleaved(device, {body}, options).front();
}

Ceilings measure_ceilings(const Device& device, const Options& options) {
  Ceilings ceilings;
  Scheduler& scheduler = device.scheduler();

  // Peak FMA: independent chains per invocation (enough to cover the FMA latency on every lane),
  // a few workgroup sizes; the best variant is the ceiling.
  const uint32_t invocations = options.quick ? 2048 : 32768;
  const uint32_t iterations = options.quick ? 64 : 2048;
  Tensor fma_out = Tensor::empty(device, {int64_t(invocations)});
  for (uint32_t group : {64u, 256u}) {
    for (auto [chains, unroll] : {std::pair{8u, 4u}, {16u, 1u}, {16u, 4u}, {32u, 1u}, {32u, 2u}}) {
      struct {
        uint32_t count, iterations;
        float a, b, start;
      } push{invocations, iterations, 1.0f, 1e-7f, 0.0f};
      Kernel kernel{"bench_fma", {group, chains, unroll}};
      Timing timing = measure(
          device,
          [&] { scheduler.dispatch(kernel, {out(fma_out)}, push, grid(invocations, group)); },
          options);
      double flops = 2.0 * chains * iterations * double(invocations);
      std::string name = "fma_wg" + std::to_string(group) + "_chains" + std::to_string(chains) +
                         "x" + std::to_string(unroll);
      double gflops = flops / timing.median_s * 1e-9;
      ceilings.samples.push_back({name, gflops, timing});
      if (gflops > ceilings.fma_gflops) {
        ceilings.fma_gflops = gflops;
        ceilings.fma_kernel = name;
        ceilings.fma_call = [&scheduler, kernel, fma_out, push, group, invocations] {
          scheduler.dispatch(kernel, {out(fma_out)}, push, grid(invocations, group));
        };
        ceilings.fma_call_flops = flops;
      }
    }
  }

  // Copy bandwidth: buffers far larger than the caches; bytes read + bytes written.
  const int64_t floats = options.quick ? (int64_t(1) << 20) : (int64_t(1) << 25);  // 128 MiB
  Tensor src = Tensor::full(device, {floats}, 1.0f);
  Tensor dst = Tensor::zeros(device, {floats});
  const double bytes = 2.0 * 4.0 * double(floats);
  for (auto [group, per_invocation] : {std::pair{64u, 1u}, {256u, 1u}, {64u, 4u}, {256u, 4u}}) {
    Kernel kernel{"bench_copy", {group, per_invocation}};
    uint32_t vec4s = uint32_t(floats / 4);
    uint32_t invocations = (vec4s + per_invocation - 1) / per_invocation;
    Timing timing = measure(
        device,
        [&] {
          scheduler.dispatch(kernel, {in(src), out(dst)}, vec4s, grid(invocations, group));
        },
        options);
    std::string name =
        "copy_vec4x" + std::to_string(per_invocation) + "_wg" + std::to_string(group);
    double gbs = bytes / timing.median_s * 1e-9;
    ceilings.samples.push_back({name, gbs, timing});
    if (gbs > ceilings.copy_gbs) {
      ceilings.copy_gbs = gbs;
      ceilings.copy_kernel = name;
      ceilings.copy_call = [&scheduler, kernel, src, dst, vec4s, invocations, group] {
        scheduler.dispatch(kernel, {in(src), out(dst)}, vec4s, grid(invocations, group));
      };
      ceilings.copy_call_bytes = bytes;
    }
  }
  // The same copy reading the source through uniform-buffer windows (bench_copy_windows.comp),
  // where the device binds them: on llvmpipe a storage-buffer load is a loop over the lanes and a
  // uniform-buffer load a gather, and on some hosts this copy is the faster (the packed matmul and
  // conv2d read their operands this way).
  const auto& limits = device.shared_state()->properties.limits;
  if (device.info().uniform_buffer_windows &&
      limits.maxPerStageDescriptorUniformBuffers >= detail::kDispatchWindows &&
      limits.maxUniformBufferRange >= detail::kUniformWindowBytes) {
    detail::VulkanScheduler& windowed = *device.shared_state()->scheduler;
    const uint32_t vec4s = uint32_t(floats / 4);
    const uint64_t window_vec4s = detail::kUniformWindowBytes / 16;
    for (uint32_t group : {8u, 64u, 256u}) {
      Kernel kernel{"bench_copy_windows", {group}};
      auto call = [&windowed, kernel, src, dst, vec4s, window_vec4s] {
        for (uint64_t first = 0; first < vec4s; first += detail::kDispatchWindows * window_vec4s) {
          detail::UniformWindows windows;
          for (uint64_t w = 0; w < detail::kDispatchWindows; ++w) {
            uint64_t at = std::min<uint64_t>(first + w * window_vec4s, vec4s - 1);
            windows.push_back({src, at / window_vec4s * window_vec4s * 16});
          }
          struct {
            uint32_t first, count;
          } push{uint32_t(first), vec4s};
          windowed.dispatch_windows(kernel, {{out(dst)}}, windows, &push, sizeof(push),
                                    {1, detail::kDispatchWindows, 1});
        }
      };
      Timing timing = measure(device, call, options);
      std::string name = "copy_windows_wg" + std::to_string(group);
      double gbs = bytes / timing.median_s * 1e-9;
      ceilings.samples.push_back({name, gbs, timing});
      if (gbs > ceilings.copy_gbs) {
        ceilings.copy_gbs = gbs;
        ceilings.copy_kernel = name;
        ceilings.copy_call = call;
        ceilings.copy_call_bytes = bytes;
      }
    }
  }
  // vkCmdCopyBuffer, for comparison only: kernels are bounded by what a shader can move.
  Timing transfer = measure(
      device, [&] { copy(src, dst); }, options);
  ceilings.samples.push_back({"copy_transfer", bytes / transfer.median_s * 1e-9, transfer});
  return ceilings;
}

void measure_kernel(const Device& device, KernelResult& result, const std::function<void()>& body,
                    const Ceilings& ceilings, const Options& options) {
  double intensity = result.bytes > 0 ? result.flops / result.bytes : 1e30;
  bool fma = result.flops > 0 && ceilings.fma_gflops <= intensity * ceilings.copy_gbs;
  const std::function<void()>& ceiling = fma ? ceilings.fma_call : ceilings.copy_call;
  if (!ceiling)
    throw Error("vktrain-bench: measure_kernel(" + result.name +
                "): the ceilings carry no call to time alongside (measure_ceilings fills them)");
  std::vector<Timing> timings = measure_interleaved(device, {body, ceiling}, options);
  result.timing = timings[0];
  result.ceiling_timing = timings[1];
  result.bound = fma ? "fma" : "bytes";
  double work = fma ? ceilings.fma_call_flops : ceilings.copy_call_bytes;
  result.bound_value = work / timings[1].median_s * 1e-9;
  result.fraction = (fma ? result.gflops() : result.gbs()) / result.bound_value;
}

}  // namespace vkt::bench
