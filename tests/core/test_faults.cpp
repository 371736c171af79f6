// Faults: running out of device memory, a kernel the device cannot run, a lost device, non-finite
// values, and a checkpoint save that fails half-way (a full disk, a file-size limit, a failed
// rename). Each must surface as a clear vkt::Error and leave the library, the device and the
// previous checkpoint usable.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vktrain/checkpoint.hpp>
#include <vktrain/nn.hpp>

#include "core/check.hpp"
#include "test_device.hpp"

using namespace vkt;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    path =
        fs::temp_directory_path() / ("vktrain-faults-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  size_t entries() const {
    return size_t(std::distance(fs::directory_iterator(path), fs::directory_iterator()));
  }
};

// A tmpfs of `bytes` mounted on `dir` (root only); unmounted on destruction.
struct TmpfsMount {
  fs::path dir;
  bool mounted = false;
  TmpfsMount(const fs::path& where, size_t bytes) : dir(where) {
    std::string options = "size=" + std::to_string(bytes);
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

std::vector<float> pattern(size_t n, float offset) {
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = offset + float(i % 97) * 0.25f;
  return values;
}

// A small model's state: what a checkpoint holds.
struct State {
  Tensor weight, bias, counter;
  NamedTensors named() const {
    return {{"0.weight", weight}, {"0.bias", bias}, {"1.num_batches_tracked", counter}};
  }
};

State make_state(const Device& device, size_t weight_elements, float offset) {
  uint32_t steps[] = {uint32_t(offset)};
  return {Tensor::from_host(device, pattern(weight_elements, offset), {int64_t(weight_elements)}),
          Tensor::from_host(device, pattern(10, offset), {10}),
          Tensor::from_host(device, std::span<const uint32_t>(steps), {})};
}

// Loads `file` into fresh tensors and checks they hold state `offset` (weight of `elements`).
void check_checkpoint(const Device& device, const fs::path& file, size_t elements, float offset) {
  State loaded{Tensor::zeros(device, {int64_t(elements)}), Tensor::zeros(device, {10}),
               Tensor::zeros(device, {}, DType::u32)};
  Metadata metadata = load_safetensors(file, loaded.named());
  CHECK(metadata.at("version") == std::to_string(int(offset)));
  CHECK(loaded.weight.to_host() == pattern(elements, offset));
  CHECK(loaded.bias.to_host() == pattern(10, offset));
  CHECK(loaded.counter.to_host_u32()[0] == uint32_t(offset));
}

void save_version(const fs::path& file, const State& state, float offset) {
  save_safetensors(file, state.named(), {{"version", std::to_string(int(offset))}});
}

}  // namespace

TEST_CASE("faults: out of device memory, then free, allocate and compute again", "[core][faults]") {
  constexpr uint64_t kLimit = 256ull << 20;
  Device device = testing::open_test_device({.memory_limit = kLimit});
  // Small tensors share 64 MiB blocks (a quarter of the limit); tensors of half a block or more
  // get blocks of their own. One small tensor first, so a shared block is reserved.
  Tensor small = Tensor::full(device, {1000}, 1.0f);
  std::vector<Tensor> held;
  Error failure("none");
  bool failed = false;
  for (int i = 0; i < 64 && !failed; ++i) {  // 32 MiB each: fails within 9 allocations
    try {
      held.push_back(Tensor::empty(device, {8 << 20}));
    } catch (const Error& error) {
      failure = error;
      failed = true;
    }
  }
  REQUIRE(failed);
  CHECK(failure.out_of_memory());
  CHECK_FALSE(failure.device_lost());
  CHECK_THAT(failure.what(), Contains("Tensor::empty") && Contains("out of device memory") &&
                                 Contains(std::to_string(kLimit)));
  CHECK(held.size() == 6);  // (256 - 64) / 32
  CHECK(device.memory_reserved() <= kLimit);
  // Small tensors still fit in the shared block; then everything is given back.
  Tensor other = Tensor::full(device, {1000}, 2.0f);
  CHECK(sum(add(small, other)).to_host()[0] == 3000.0f);
  held.clear();
  device.synchronize();
  CHECK(device.memory_in_use() < (1ull << 20));
  // The whole budget is available again: allocate most of it and run ops over it.
  const int64_t n = 1 << 10;
  Tensor a = Tensor::full(device, {n, n}, 0.5f), b = Tensor::full(device, {n, n}, 2.0f);
  std::vector<Tensor> again;
  for (int i = 0; i < 5; ++i) again.push_back(Tensor::full(device, {8 << 20}, 1.0f));
  Tensor c = matmul(a.narrow(0, 8), b);  // (8, 1024): every element is 1024
  std::vector<float> row = c.to_host();
  CHECK(row.front() == 1024.0f);
  CHECK(row.back() == 1024.0f);
  CHECK(sum(again.back()).to_host()[0] == float(8 << 20));
  CHECK(device.validation_messages() == 0);
}

TEST_CASE("faults: exhausting the whole device heap, then recovering", "[core][faults]") {
  // Without a memory_limit the allocator's limit is the largest heap. On a CPU device (lavapipe:
  // 2 GiB of host memory, reserved but never touched by Tensor::empty) this is fast and safe; on a
  // GPU it would take all of its memory from other programs, so it runs on CPU devices only.
  Device device = testing::open_test_device();
  if (device.info().type != "cpu") {
    WARN("not a CPU device: the whole-heap exhaustion test is skipped");
    return;
  }
  uint64_t heap = 0;
  for (const MemoryHeapInfo& h : device.info().heaps) heap = std::max(heap, h.size);
  const int64_t elements =
      int64_t(std::min<uint64_t>(128ull << 20, device.info().max_storage_buffer_range) / 4);
  std::vector<Tensor> held;
  bool out_of_memory = false;
  try {
    for (uint64_t i = 0; i <= heap / uint64_t(elements * 4); ++i)
      held.push_back(Tensor::empty(device, {elements}));
  } catch (const Error& error) {
    out_of_memory = error.out_of_memory();
    CHECK_THAT(error.what(), Contains("out of device memory") || Contains("vkAllocateMemory"));
  }
  CHECK(out_of_memory);
  CHECK(device.memory_reserved() <= heap);
  CHECK(uint64_t(held.size() + 1) * uint64_t(elements * 4) > heap / 2);
  held.clear();
  Tensor x = Tensor::full(device, {1000}, 1.0f);
  CHECK(sum(x).to_host()[0] == 1000.0f);
  CHECK(device.validation_messages() == 0);
}

TEST_CASE("faults: a workgroup over the device limit is rejected at pipeline creation",
          "[core][faults]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  Tensor x = Tensor::full(device, {256}, 1.0f);
  SchedulerStats before = scheduler.stats();
  struct {
    uint32_t n, bits;
  } push{256, 0};
  uint32_t limit =
      std::min(device.info().max_workgroup_size[0], device.info().max_workgroup_invocations);
  for (uint32_t size : {100000u, limit + 1, 0u}) {
    INFO("workgroup " << size);
    try {
      scheduler.dispatch(Kernel{"fill", {size}}, {out(x)}, push, {1, 1, 1});
      FAIL_CHECK("no exception");
    } catch (const Error& error) {
      CHECK_THAT(error.what(), Contains("fill") &&
                                   Contains("workgroup of " + std::to_string(size)) &&
                                   Contains("limit of " + std::to_string(limit)));
      CHECK(error.vk_result() == 0);
    }
  }
  // Nothing was recorded, and the kernel with a valid size still runs.
  CHECK(scheduler.stats().dispatches == before.dispatches);
  CHECK(scheduler.stats().pipelines_created == before.pipelines_created);
  x.fill(3.0f);
  CHECK(x.to_host()[255] == 3.0f);
}

TEST_CASE("faults: VK_ERROR_DEVICE_LOST is reported as a lost device", "[core][faults]") {
  Error lost("lost", -4);  // VK_ERROR_DEVICE_LOST
  CHECK(lost.device_lost());
  CHECK_FALSE(lost.out_of_memory());
  CHECK(Error("oom", -2).out_of_memory());  // VK_ERROR_OUT_OF_DEVICE_MEMORY
  CHECK(Error("oom", -1).out_of_memory());  // VK_ERROR_OUT_OF_HOST_MEMORY
  CHECK_FALSE(Error("argument").device_lost());

  // What every failing Vulkan call throws (VKT_CHECK).
  try {
    VKT_CHECK(VK_ERROR_DEVICE_LOST);
    FAIL("no exception");
  } catch (const Error& error) {
    CHECK(error.device_lost());
    CHECK(error.vk_result() == VK_ERROR_DEVICE_LOST);
    CHECK_THAT(error.what(), Contains("VK_ERROR_DEVICE_LOST") && Contains("(-4)") &&
                                 Contains("(-4) from VK_ERROR_DEVICE_LOST at ") &&
                                 Contains("the device was lost; open a new vkt::Device") &&
                                 Contains("test_faults.cpp"));
  }
  try {
    detail::throw_vk_error(VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory(...)", "f.cpp", 7);
  } catch (const Error& error) {
    CHECK(error.out_of_memory());
    CHECK_THAT(error.what(), Contains("VK_ERROR_OUT_OF_DEVICE_MEMORY (-2) from vkAllocateMemory"));
    CHECK_THAT(error.what(), !Contains("device was lost"));
  }
}

TEST_CASE("faults: NaN and Inf reach the loss and the reductions a host check reads",
          "[core][faults]") {
  // What a divergence check can rely on today: one non-finite value anywhere makes the reduced
  // loss and sum_squares of the tensor non-finite (vktrain has no all_finite op of its own).
  const Device& device = testing::test_device();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> logits(4 * 5, 0.25f);
  std::vector<int32_t> labels = {0, 1, 2, 3};
  for (float bad : {nan, inf, -inf}) {
    INFO("value " << bad);
    std::vector<float> values = logits;
    values[13] = bad;
    Tensor x = Tensor::from_host(device, values, {4, 5});
    // (−inf in a logit that is not the label's is a finite loss, as in PyTorch.)
    if (bad > 0 || std::isnan(bad))
      CHECK_FALSE(
          std::isfinite(cross_entropy(x, Tensor::from_host(device, labels, {4})).to_host()[0]));
    CHECK_FALSE(std::isfinite(sum_squares(x).to_host()[0]));
    CHECK_FALSE(std::isfinite(sum_abs(x).to_host()[0]));
  }
  // A label outside [0, C) gives a NaN loss (documented in ops/loss.hpp), not a crash.
  std::vector<int32_t> wrong = {0, 1, 7, 3};
  Tensor x = Tensor::from_host(device, logits, {4, 5});
  CHECK(std::isnan(cross_entropy(x, Tensor::from_host(device, wrong, {4})).to_host()[0]));
}

TEST_CASE("faults: a checkpoint save that fails half-way keeps the previous checkpoint",
          "[core][faults][io]") {
  const Device& device = testing::test_device();
  State v1 = make_state(device, 64, 1.0f);
  State v2 = make_state(device, 64, 2.0f);

  SECTION("the file-size limit is hit while writing (EFBIG, as a disk filling up)") {
    TempDir dir("fsize");
    fs::path file = dir.path / "last.safetensors";
    save_version(file, v1, 1.0f);
    const auto good_size = fs::file_size(file);
    // A new state four times the size cannot be written under a limit twice the old file's.
    State big = make_state(device, 4 * 64 + 200, 2.0f);
    struct rlimit old_limit;
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto old_handler = ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead
    struct rlimit limit = old_limit;
    limit.rlim_cur = good_size * 2;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    std::string message;
    try {
      save_version(file, big, 2.0f);
    } catch (const Error& error) {
      message = error.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
    CHECK_THAT(message,
               Contains("write_file_atomic: writing failed") && Contains("last.safetensors"));
    check_checkpoint(device, file, 64, 1.0f);
    CHECK(dir.entries() == 1);  // the temporary file was removed
  }

  SECTION("the disk is full (a 64 KiB tmpfs; root only)") {
    TempDir dir("tmpfs");
    TmpfsMount mount(dir.path, 64 << 10);
    if (!mount.mounted) {
      WARN("cannot mount a tmpfs here (not root?): the full-disk case is skipped");
      return;
    }
    fs::path file = dir.path / "last.safetensors";
    save_version(file, v1, 1.0f);
    // Fill what is left, then try to save a checkpoint bigger than any space that could remain.
    {
      std::ofstream filler(dir.path / "filler", std::ios::binary);
      std::vector<char> block(4096, 'x');
      while (filler.write(block.data(), std::streamsize(block.size()))) filler.flush();
    }
    State big = make_state(device, 32 << 10, 2.0f);  // 128 KiB of weights
    try {
      save_version(file, big, 2.0f);
      FAIL_CHECK("the save succeeded on a full disk");
    } catch (const Error& error) {
      CHECK_THAT(error.what(), Contains("write_file_atomic") && Contains("last.safetensors") &&
                                   Contains("No space left on device"));
    }
    check_checkpoint(device, file, 64, 1.0f);
    CHECK(dir.entries() == 2);  // the checkpoint and the filler; no temporary file is left
    // Space freed: the next save goes through and replaces the checkpoint whole.
    fs::remove(dir.path / "filler");
    save_version(file, v2, 2.0f);
    check_checkpoint(device, file, 64, 2.0f);
  }

  SECTION("the final rename fails (the target became a directory)") {
    TempDir dir("rename");
    fs::path file = dir.path / "best.safetensors";
    save_version(file, v1, 1.0f);
    fs::path blocked = dir.path / "blocked.safetensors";
    fs::create_directories(blocked / "inside");
    CHECK_THROWS_WITH(save_version(blocked, v2, 2.0f),
                      Contains("renaming the temporary file") && Contains("blocked.safetensors"));
    check_checkpoint(device, file, 64, 1.0f);
    CHECK(dir.entries() == 2);
  }
}
