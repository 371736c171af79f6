// Resource hygiene: creating a whole context — instance, device and the Vulkan objects work on it
// makes — and destroying it, 100 times with validation on, leaks neither Vulkan objects nor host
// memory. Three independent witnesses:
// - the validation layer's object tracker reports every child object still alive at
//   vkDestroyDevice and vkDestroyInstance. The report at vkDestroyInstance reaches only the
//   messenger chained into VkInstanceCreateInfo, whose counter dies with the instance, so the test
//   counts the lines that messenger prints to stderr ("vktrain validation: ...");
// - a context kept alive by a stray reference (a tensor, a sequence, an autograd graph) destroys
//   nothing and so reports nothing: weak references to the device state and the instance must
//   expire when the cycle's last handle goes;
// - host memory: glibc's bytes in use (mallinfo2) and the resident set after kWarmCycles cycles and
//   after the last. The validation layer itself keeps 5-17 KiB per instance after
//   vkDestroyInstance (tests/sanitize/lsan.supp; without the layer the heap grows by under 1 KiB a
//   cycle), so the heap bound is per cycle, a few times that; a leaked context costs megabytes.
//   Under AddressSanitizer freed memory sits in its quarantine and mallinfo2 sees nothing; there
//   LeakSanitizer, which names every leaked block, checks instead (scripts/sanitize).
#include <malloc.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <vktrain/nn.hpp>
#include <vktrain/optim.hpp>

#include "core/state.hpp"
#include "test_device.hpp"

using namespace vkt;

namespace {

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

// Cycles before the first memory reading: loader, layer, driver and allocator caches fill up.
constexpr int kWarmCycles = 10;
// Every kTrainingEvery-th cycle also trains a step. A training step compiles about 20 pipelines,
// which lavapipe does afresh for every new device (~90 ms a cycle); in every cycle it would make
// the test take 15-20 s instead of 5-9 s, and it creates no kind of Vulkan object the other cycles
// do not.
constexpr int kTrainingEvery = 10;
// Heap a cycle may leave behind, on average: the layer's own leftovers, measured at 8-10 KiB a
// cycle (5 KiB without the training step, 17 KiB with it), plus margin. A leaked 16 KiB a cycle
// fails; a leaked context costs megabytes.
constexpr int64_t kHeapGrowthPerCycle = 20 * 1024;
// The resident set moves in pages and with fragmentation, not with frees: measured growth after
// the warm-up is 3-5 MiB for 20 to 190 cycles, mostly in the first few.
constexpr int64_t kResidentGrowth = 16 << 20;

// VKTRAIN_DEVICE_CYCLES (default 100) sets the count; scripts/sanitize runs fewer under ASan.
int cycle_count() {
  const char* env = std::getenv("VKTRAIN_DEVICE_CYCLES");
  return env ? std::max(std::atoi(env), kWarmCycles + 1) : 100;
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * uint64_t(::sysconf(_SC_PAGESIZE));
}

// Bytes held from malloc: small chunks in the arenas plus large mmapped chunks.
uint64_t heap_bytes_in_use() {
  struct mallinfo2 info = ::mallinfo2();
  return uint64_t(info.uordblks) + uint64_t(info.hblkhd);
}

// Sends stderr (fd 2) to a temporary file while alive. take() restores it and returns what was
// written; whatever was not taken (a failed REQUIRE) is passed on to the real stderr.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = file_ ? ::dup(2) : -1;
    if (saved_ >= 0 && ::dup2(::fileno(file_), 2) < 0) {
      ::close(saved_);
      saved_ = -1;
    }
  }
  ~StderrCapture() {
    if (!taken_) std::fputs(take().c_str(), stderr);
    if (file_) std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  bool capturing() const { return saved_ >= 0; }
  std::string take() {
    taken_ = true;
    if (saved_ < 0) return {};
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
    std::string text;
    std::rewind(file_);
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_)) > 0;) text.append(buffer, n);
    return text;
  }

 private:
  std::FILE* file_;
  int saved_ = -1;
  bool taken_ = false;
};

size_t count_occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// One training step of a small model (Linear, BatchNorm1d, ReLU, Dropout, Linear; SGD with
// momentum): autograd graph, optimizer state, module buffers. Returns the loss.
float train_step(const Device& device, const Tensor& x) {
  nn::manual_seed(7);
  nn::Sequential model({std::make_shared<nn::Linear>(device, 6, 8),
                        std::make_shared<nn::BatchNorm1d>(device, 8), std::make_shared<nn::ReLU>(),
                        std::make_shared<nn::Dropout>(device, 0.25f),
                        std::make_shared<nn::Linear>(device, 8, 3)});
  std::vector<optim::ParamRef> params;
  for (auto& [name, p] : model.named_parameters()) params.push_back({name, p.value(), p.grad()});
  optim::SGD optimizer(params, {.lr = 0.1, .momentum = 0.9});
  Tensor labels = Tensor::from_host(device, std::vector<int32_t>{0, 1, 2, 1}, {4});
  optimizer.zero_grad();
  nn::Variable loss = nn::F::cross_entropy(model(nn::Variable(x)), labels);
  nn::backward(loss);
  optimizer.step();
  return loss.value().to_host()[0];
}

struct CycleResult {
  float sum = 0;
  float loss = NAN;  // stays NaN when the cycle does not train
  std::weak_ptr<detail::DeviceState> state;
  std::weak_ptr<detail::Instance> instance;
};

// One context's life: a validated device with its own instance; an upload, a captured sequence
// replayed, a checkpoint round trip through a file, a readback; on some cycles a training step.
// Odd cycles use pooled descriptor sets instead of push descriptors, so both paths are torn down.
// Everything is destroyed on return.
CycleResult context_cycle(int index, const std::filesystem::path& checkpoint) {
  Device device = testing::open_test_device({.disable_push_descriptors = index % 2 == 1});
  CycleResult result;
  result.state = device.shared_state();
  result.instance = device.state().instance;
  std::vector<float> values(4 * 6);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i % 7) / 3.0f - 1.0f;
  Tensor x = Tensor::from_host(device, values, {4, 6});
  Tensor doubled;
  Sequence sequence = device.scheduler().capture([&] { doubled = add(x, x); });
  device.scheduler().replay(sequence);
  save_safetensors(checkpoint, {{"doubled", doubled}});
  Tensor loaded = Tensor::empty(device, {4, 6});
  load_safetensors(checkpoint, {{"doubled", loaded}});
  result.sum = sum(loaded).to_host()[0];
  result.loss = index % kTrainingEvery == 0 ? train_step(device, x) : NAN;
  return result;
}

}  // namespace

TEST_CASE("hygiene: creating and destroying a context 100 times leaks nothing", "[core][hygiene]") {
  const int cycles = cycle_count();
  const std::filesystem::path checkpoint =
      std::filesystem::temp_directory_path() /
      ("vktrain-hygiene-" + std::to_string(::getpid()) + ".safetensors");
  float expected_sum = 0;
  for (size_t i = 0; i < 24; ++i) expected_sum += 2 * (float(i % 7) / 3.0f - 1.0f);

  int good_sums = 0, alive_after = 0, trained = 0;
  float first_loss = NAN;
  bool same_loss = true;
  uint64_t heap_warm = 0, resident_warm = 0;
  const auto start = std::chrono::steady_clock::now();
  StderrCapture capture;
  REQUIRE(capture.capturing());
  for (int i = 0; i < cycles; ++i) {
    const CycleResult result = context_cycle(i, checkpoint);
    good_sums += std::abs(result.sum - expected_sum) < 1e-4f ? 1 : 0;
    alive_after += result.state.expired() && result.instance.expired() ? 0 : 1;
    if (!std::isnan(result.loss)) {
      if (trained++ == 0) first_loss = result.loss;
      same_loss = same_loss && result.loss == first_loss;
    }
    if (i + 1 == kWarmCycles) {
      heap_warm = heap_bytes_in_use();
      resident_warm = resident_bytes();
    }
  }
  const int64_t heap_growth = int64_t(heap_bytes_in_use()) - int64_t(heap_warm);
  const int64_t resident_growth = int64_t(resident_bytes()) - int64_t(resident_warm);
  const std::string printed = capture.take();
  std::fputs(printed.c_str(), stderr);  // the cycles' output, messages included, for the log
  std::filesystem::remove(checkpoint);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int measured = cycles - kWarmCycles;
  INFO(cycles << " context cycles in " << seconds << " s; over the last " << measured
              << ": heap in use " << heap_growth / 1024 << " KiB, resident set "
              << resident_growth / 1024 << " KiB");
  CHECK(count_occurrences(printed, "vktrain validation:") == 0);
  CHECK(alive_after == 0);
  CHECK(good_sums == cycles);
  CHECK(trained == (cycles + kTrainingEvery - 1) / kTrainingEvery);
  CHECK(std::isfinite(first_loss));
  CHECK(same_loss);  // every context computes the same training step, bit for bit
  if (!kAddressSanitizer) {
    CHECK(heap_growth < kHeapGrowthPerCycle * measured);
    CHECK(resident_growth < kResidentGrowth);
  }
  WARN(cycles << " context cycles in " << seconds << " s; over the last " << measured
              << ": heap in use " << heap_growth / 1024 << " KiB, resident set "
              << resident_growth / 1024 << " KiB");
}
