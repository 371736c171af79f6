// The autotuner (lib/core/tuner.cpp) and its use by matmul, conv2d and StepCapture: the fastest
// candidate is chosen and saved, a later process reuses it, nothing is timed inside a capture, and
// tuned results equal untuned ones bit for bit.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "core/tuner.hpp"
#include "test_device.hpp"
#include "vktrain/train.hpp"
#include "vktrain/vktrain.hpp"

namespace fs = std::filesystem;
using vkt::detail::Tuner;

namespace {

fs::path fresh_directory(const std::string& name) {
  fs::path directory =
      fs::temp_directory_path() / ("vktrain-tuner-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The one tuning file a device wrote into `directory` (empty path when there is none).
fs::path tuning_file(const fs::path& directory) {
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().filename().string().rfind("tuning-", 0) == 0) return entry.path();
  return {};
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("tuner: the fastest candidate is chosen, saved and remembered", "[core][tuner]") {
  fs::path directory = fresh_directory("unit");
  fs::path file = directory / "tuning.txt";
  std::vector<std::string> names{"tiled", "subgroup:8,4", "subgroup:16,8"};
  std::vector<double> seconds{3e-3, 1e-3, 2e-3};
  int timed = 0;
  {
    Tuner tuner(file, true);
    CHECK_FALSE(tuner.remembered("matmul nn", names));
    CHECK(tuner.tune("matmul nn", names, [&](size_t i) {
      ++timed;
      return seconds[i];
    }) == "subgroup:8,4");
    CHECK(timed == 3);
    CHECK(tuner.remembered("matmul nn", names) == std::optional<std::string>("subgroup:8,4"));
  }
  CHECK(read(file) == "matmul nn\tsubgroup:8,4\n");
  // Another process (tuning off) reuses the choice; one no longer among the candidates is not used.
  Tuner later(file, false);
  CHECK(later.remembered("matmul nn", names) == std::optional<std::string>("subgroup:8,4"));
  CHECK_FALSE(later.remembered("matmul nn", {"tiled"}));
  CHECK_FALSE(later.remembered("conv2d fwd", names));
  fs::remove_all(directory);
}

TEST_CASE("tuner: malformed lines in the file are ignored", "[core][tuner]") {
  fs::path directory = fresh_directory("malformed");
  fs::path file = directory / "tuning.txt";
  std::ofstream(file) << "no tab here\n\tempty key\nempty choice\t\nmatmul tt\ttiled\n";
  Tuner tuner(file, false);
  CHECK(tuner.remembered("matmul tt", {"tiled"}) == std::optional<std::string>("tiled"));
  CHECK_FALSE(tuner.remembered("no tab here", {"tiled"}));
  CHECK_FALSE(tuner.remembered("empty choice", {"tiled"}));
  fs::remove_all(directory);
}

// [pipelines]: these two time real candidates, compiling some fifty pipelines; scripts/sanitize
// leaves them out (LLVM under AddressSanitizer's allocator took 7-10 minutes each).
TEST_CASE("tuner: matmul and conv2d tune once, results equal the untuned ones",
          "[core][tuner][pipelines]") {
  fs::path directory = fresh_directory("ops");
  const vkt::Device& plain = vkt::testing::test_device();
  vkt::Device tuned = vkt::testing::open_test_device(
      {.cache_dir = directory.string(), .autotune = true});
  REQUIRE(tuned.autotune());
  REQUIRE_FALSE(plain.autotune());

  std::vector<float> a = random_values(37 * 53, 1), b = random_values(53 * 29, 2);
  auto run_matmul = [&](const vkt::Device& device) {
    vkt::Tensor c = vkt::matmul(vkt::Tensor::from_host(device, a, {37, 53}),
                                vkt::Tensor::from_host(device, b, {29, 53}),
                                {.transpose_b = true});
    return c.to_host();
  };
  std::vector<float> x = random_values(2 * 3 * 9 * 8, 3), w = random_values(5 * 3 * 3 * 3, 4);
  vkt::Conv2dParams params{.pad_h = 1, .pad_w = 1};
  auto run_conv = [&](const vkt::Device& device) {
    vkt::Tensor tx = vkt::Tensor::from_host(device, x, {2, 3, 9, 8});
    vkt::Tensor tw = vkt::Tensor::from_host(device, w, {5, 3, 3, 3});
    vkt::Tensor y = vkt::conv2d(tx, tw, {}, params);
    vkt::Tensor dx = vkt::Tensor::empty(device, tx.shape()), dw = vkt::Tensor::empty(device, tw.shape());
    vkt::conv2d_backward(y, tx, tw, params, dx, dw, {});
    std::vector<float> values = y.to_host(), dx_values = dx.to_host(), dw_values = dw.to_host();
    values.insert(values.end(), dx_values.begin(), dx_values.end());
    values.insert(values.end(), dw_values.begin(), dw_values.end());
    return values;
  };
  CHECK(same_bits(run_matmul(tuned), run_matmul(plain)));
  CHECK(same_bits(run_conv(tuned), run_conv(plain)));
  CHECK(tuned.validation_messages() == 0);

  fs::path file = tuning_file(directory);
  REQUIRE_FALSE(file.empty());
  std::string text = read(file);
  CHECK(text.find("matmul nt m64 n32 k64 b1\t") != std::string::npos);
  for (const char* pass : {"conv2d fwd ", "conv2d bwd_data ", "conv2d bwd_weight "})
    CHECK(text.find(pass) != std::string::npos);
  // Each class was timed once: running again leaves the file as it was.
  (void)run_matmul(tuned);
  (void)run_conv(tuned);
  CHECK(read(file) == text);
  fs::remove_all(directory);
}

TEST_CASE("tuner: nothing is timed inside a capture; StepCapture runs a first step eagerly",
          "[core][tuner][pipelines]") {
  fs::path directory = fresh_directory("capture");
  vkt::Device device = vkt::testing::open_test_device(
      {.cache_dir = directory.string(), .autotune = true});
  vkt::Tensor a = vkt::Tensor::full(device, {19, 23}, 0.25f);
  vkt::Tensor b = vkt::Tensor::full(device, {23, 17}, 0.5f);
  vkt::Tensor c = vkt::Tensor::empty(device, {19, 17});
  vkt::Sequence sequence = device.scheduler().capture([&] { vkt::matmul_into(a, b, c); });
  device.scheduler().replay(sequence);
  CHECK(c.to_host()[0] == Approx(23 * 0.125f));
  CHECK(tuning_file(directory).empty());

  vkt::train::StepCapture capture(device);
  int recorded = 0;
  auto step = [&] {
    ++recorded;
    vkt::matmul_into(a, b, c, {.accumulate = true});
  };
  c.fill(0.0f);
  capture.run("signature", step);  // eager: tunes the accumulating matmul
  CHECK(capture.captures() == 0);
  CHECK_FALSE(tuning_file(directory).empty());
  capture.run("signature", step);  // captured, then replayed
  capture.run("signature", step);  // replayed
  CHECK(capture.captures() == 1);
  CHECK(recorded == 2);
  CHECK(c.to_host()[0] == Approx(3 * 23 * 0.125f));
  CHECK(device.validation_messages() == 0);
  fs::remove_all(directory);
}
