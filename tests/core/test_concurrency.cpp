// Threads and device lifetimes. The contract (include/vktrain/device.hpp, docs/reliability.md): a
// Device and the tensors on it belong to one thread at a time; independent Devices may be used
// from different threads at once. Also: several devices with and without validation, destroyed in
// any order and opened from several threads at once; and opening and destroying a device many
// times leaks neither Vulkan objects (the validation layer reports any at destruction) nor host
// memory.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "core/state.hpp"
#include "test_device.hpp"

using namespace vkt;

namespace {

// A (m, k) · (k, n) product on `device`, compared with a float64 CPU reference; returns the
// largest relative error (or a negative number when the shapes come back wrong).
double matmul_error(const Device& device, int64_t m, int64_t k, int64_t n, uint32_t seed) {
  std::vector<float> a(size_t(m * k)), b(size_t(k * n));
  uint32_t state = seed * 2654435761u + 1;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return float(state >> 8) / float(1 << 24) - 0.5f;
  };
  for (float& v : a) v = next();
  for (float& v : b) v = next();
  Tensor c = matmul(Tensor::from_host(device, a, {m, k}), Tensor::from_host(device, b, {k, n}));
  std::vector<float> got = c.to_host();
  if (got.size() != size_t(m * n)) return -1;
  double worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double expected = 0, scale = 0;
      for (int64_t p = 0; p < k; ++p) {
        expected += double(a[size_t(i * k + p)]) * double(b[size_t(p * n + j)]);
        scale += std::abs(double(a[size_t(i * k + p)]) * double(b[size_t(p * n + j)]));
      }
      worst = std::max(worst, std::abs(got[size_t(i * n + j)] - expected) / (scale + 1e-30));
    }
  return worst;
}

// float32 products summed over k: relative to Σ|a·b|, a few ulps per term at most.
constexpr double kTolerance = 1e-5;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Resident set size in bytes, from /proc/self/statm.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * uint64_t(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("concurrency: two devices used from two threads at once", "[core][concurrency]") {
  constexpr int kRounds = 12;
  struct Outcome {
    double worst = 0;
    int rounds = 0;
    uint64_t validation = 0;
    std::string error;
  };
  Outcome outcomes[2];
  std::atomic<int> ready{0};
  auto work = [&](int id) {
    Outcome& outcome = outcomes[id];
    try {
      Device device = testing::open_test_device();
      // Start the products together so the two queues really run side by side.
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        double error =
            matmul_error(device, 33 + id * 7 + round, 65, 47 - round, uint32_t(id * 100 + round));
        outcome.worst = error < 0 ? 1e9 : std::max(outcome.worst, error);
        ++outcome.rounds;
      }
      outcome.validation = device.validation_messages();
    } catch (const std::exception& error) {
      outcome.error = error.what();
      ready.fetch_add(1);
    }
  };
  std::thread first(work, 0), second(work, 1);
  first.join();
  second.join();
  for (const Outcome& outcome : outcomes) {
    CHECK(outcome.error.empty());
    INFO(outcome.error);
    CHECK(outcome.rounds == kRounds);
    CHECK(outcome.worst < kTolerance);
    CHECK(outcome.validation == 0);
  }
}

TEST_CASE("concurrency: independent devices in one thread, with and without validation",
          "[core][concurrency]") {
  // Every Device has its own instance; opening one must not break another, whichever is destroyed
  // first (a validated device opened before one without validation: the test below).
  for (bool first_validated : {false, true}) {
    INFO("the first device has validation " << (first_validated ? "on" : "off"));
    std::optional<Device> a = Device::open({.validation = first_validated, .cache_dir = "none"});
    std::optional<Device> b = Device::open({.validation = true, .cache_dir = "none"});
    Tensor ta = Tensor::full(*a, {100}, 1.0f), tb = Tensor::full(*b, {100}, 2.0f);
    CHECK(matmul_error(*a, 9, 17, 5, 1) < kTolerance);
    CHECK(matmul_error(*b, 9, 17, 5, 2) < kTolerance);
    CHECK(sum(ta).to_host()[0] == 100.0f);
    CHECK(sum(tb).to_host()[0] == 200.0f);
    // Destroy the first-opened device first (its tensors with it), then use the other.
    ta = Tensor();
    a.reset();
    CHECK(sum(tb).to_host()[0] == 200.0f);
    CHECK(matmul_error(*b, 4, 3, 2, 3) < kTolerance);
    CHECK(b->validation_messages() == 0);
    tb = Tensor();
    b.reset();
  }
  // And interleaved work on two live devices of the same kind.
  Device c = testing::open_test_device(), d = testing::open_test_device();
  Tensor x = Tensor::full(c, {64}, 1.0f), y = Tensor::full(d, {64}, 3.0f);
  for (int i = 0; i < 10; ++i) {
    x = add(x, x);
    y = add(y, y);
  }
  CHECK(sum(x).to_host()[0] == 64.0f * 1024.0f);
  CHECK(sum(y).to_host()[0] == 3.0f * 64.0f * 1024.0f);
  CHECK(c.validation_messages() == 0);
  CHECK(d.validation_messages() == 0);
}

TEST_CASE("concurrency: opening and destroying a device repeatedly leaks nothing",
          "[core][concurrency]") {
  // Each cycle opens a device with validation, runs a kernel, reads back and destroys the device
  // while its instance is kept, so the layer's report of leaked objects at vkDestroyDevice counts.
  const int cycles = [] {
    const char* env = std::getenv("VKTRAIN_DEVICE_CYCLES");
    return env ? std::atoi(env) : 100;
  }();
  auto cycle = [](uint64_t& messages) {
    Device device = testing::open_test_device();
    std::shared_ptr<detail::Instance> instance = device.state().instance;
    Tensor x = Tensor::full(device, {300}, 0.5f);
    bool ok = sum(add(x, x)).to_host()[0] == 300.0f;
    x = Tensor();
    uint64_t before = instance->messages.load();
    device = Device(nullptr);  // the last handle: the device is destroyed here
    messages += instance->messages.load() - before;
    return ok;
  };
  uint64_t messages = 0;
  for (int i = 0; i < 3; ++i) cycle(messages);  // warm up: loader, layer and driver caches
  const uint64_t rss_before = resident_bytes();
  const auto start = std::chrono::steady_clock::now();
  int good = 0;
  for (int i = 0; i < cycles; ++i) good += cycle(messages) ? 1 : 0;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t growth = int64_t(resident_bytes()) - int64_t(rss_before);
  INFO(cycles << " cycles in " << seconds << " s; resident memory grew by " << growth / 1024
              << " KiB");
  CHECK(good == cycles);
  CHECK(messages == 0);
  // A leaked device (or instance) costs megabytes; allow allocator noise of 4 MiB in all. Under
  // AddressSanitizer freed memory sits in its quarantine, so there LeakSanitizer checks instead.
  if (!kAddressSanitizer) CHECK(growth < (4 << 20));
  WARN(cycles << " device cycles in " << seconds << " s, resident memory change " << growth / 1024
              << " KiB");
}

TEST_CASE("concurrency: a validated device outlives devices without validation and Device::list()",
          "[core][concurrency]") {
  // An instance without VK_EXT_debug_utils (a device without validation, or Device::list) used to
  // reload volk's process-wide vkDestroyDebugUtilsMessengerEXT as null, and destroying an older
  // validated device then crashed. Each instance now destroys its messenger through its own entry
  // point, and volk's pointers are loaded once.
  std::optional<Device> validated = Device::open({.validation = true, .cache_dir = "none"});
  std::shared_ptr<detail::Instance> instance = validated->state().instance;
  std::optional<Device> plain = Device::open({.validation = false, .cache_dir = "none"});
  CHECK_FALSE(Device::list().empty());
  CHECK(validated->validation_enabled());
  CHECK_FALSE(plain->validation_enabled());
  CHECK(matmul_error(*validated, 9, 17, 5, 1) < kTolerance);
  CHECK(matmul_error(*plain, 9, 17, 5, 2) < kTolerance);
  validated.reset();  // the device; its instance, with the messenger, is still held here
  CHECK(instance->messages.load() == 0);
  instance.reset();  // destroys the messenger, then the instance
  CHECK(matmul_error(*plain, 4, 3, 2, 3) < kTolerance);
  plain.reset();
  // And the other way round: the device without validation destroyed first.
  plain = Device::open({.validation = false, .cache_dir = "none"});
  validated = Device::open({.validation = true, .cache_dir = "none"});
  plain.reset();
  CHECK(matmul_error(*validated, 4, 3, 2, 4) < kTolerance);
  CHECK(validated->validation_messages() == 0);
  validated.reset();
}

TEST_CASE("concurrency: devices with and without validation opened from three threads at once",
          "[core][concurrency]") {
  // Device::open, Device::list and device destruction running side by side: volk's entry points are
  // loaded once, so no thread rewrites a pointer another is calling through.
  constexpr int kCycles = 6;
  struct Outcome {
    int good = 0;
    uint64_t validation = 0;
    std::string error;
  };
  Outcome outcomes[3];
  std::atomic<int> ready{0};
  auto work = [&](int id) {
    Outcome& outcome = outcomes[id];
    ready.fetch_add(1);
    while (ready.load() < 3) std::this_thread::yield();
    try {
      for (int cycle = 0; cycle < kCycles; ++cycle) {
        if (id == 2) {  // enumerates, through an instance without validation each time
          outcome.good += Device::list().empty() ? 0 : 1;
          continue;
        }
        bool validation = (cycle + id) % 2 == 0;
        Device device = Device::open({.validation = validation, .cache_dir = "none"});
        Tensor x = Tensor::full(device, {256}, float(id + 1));
        outcome.good += sum(add(x, x)).to_host()[0] == 512.0f * float(id + 1) ? 1 : 0;
        outcome.validation += device.validation_messages();
      }
    } catch (const std::exception& error) {
      outcome.error = error.what();
    }
  };
  std::thread first(work, 0), second(work, 1), third(work, 2);
  first.join();
  second.join();
  third.join();
  for (const Outcome& outcome : outcomes) {
    INFO(outcome.error);
    CHECK(outcome.error.empty());
    CHECK(outcome.good == kCycles);
    CHECK(outcome.validation == 0);
  }
}
