// Fuzzing regressions: every input a fuzzer crashed on (tests/data/regressions/<target>/) and every
// seed (fuzz/corpus/<target>/) replayed through the same harness the fuzz targets use, so each
// crash stays fixed even where clang and libFuzzer are absent. Then the fixed crashes one by one,
// with the error each must now give. Host-only: no device is opened.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "../../fuzz/harness.hpp"

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

// tests/train/data is the one source directory the tests are told about; the rest is beside it.
const fs::path kTests = fs::path(VKTRAIN_TEST_DATA_DIR).parent_path().parent_path();
const fs::path kRegressions = kTests / "data" / "regressions";
const fs::path kCorpus = kTests.parent_path() / "fuzz" / "corpus";

std::vector<uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

using Harness = std::function<void(const vkt::fuzz::Scratch&, const uint8_t*, size_t)>;

// Runs every file of `directory` through the harness; returns how many there were.
int replay(const fs::path& directory, const Harness& harness) {
  if (!fs::exists(directory)) return 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  vkt::fuzz::Scratch scratch;
  for (const fs::path& file : files) {
    INFO(file.string());
    std::vector<uint8_t> bytes = read_bytes(file);
    CHECK_NOTHROW(harness(scratch, bytes.data(), bytes.size()));
  }
  return int(files.size());
}

const std::vector<std::pair<std::string, Harness>>& harnesses() {
  static const std::vector<std::pair<std::string, Harness>> all = {
      {"idx", vkt::fuzz::run_idx},
      {"cifar", vkt::fuzz::run_cifar},
      {"safetensors", vkt::fuzz::run_safetensors}};
  return all;
}

// `call` must throw vkt::Error (not another exception) whose message holds every fragment.
template <class F>
void check_error(F call, std::initializer_list<const char*> fragments) {
  try {
    call();
    FAIL_CHECK("no exception");
  } catch (const vkt::Error& error) {
    for (const char* fragment : fragments) CHECK_THAT(error.what(), Contains(fragment));
  }
}

}  // namespace

TEST_CASE("fuzz: committed crash inputs and seeds replay cleanly", "[io][fuzz]") {
  int regressions = 0;
  for (const auto& [target, harness] : harnesses()) {
    INFO("target " << target);
    regressions += replay(kRegressions / target, harness);
    CHECK(replay(kCorpus / target, harness) > 0);  // the seeds are committed
  }
  CHECK(regressions >= 4);
}

TEST_CASE("fuzz: safetensors crashes found by fuzzing give clear errors", "[io][fuzz]") {
  const fs::path dir = kRegressions / "safetensors";
  // A float in data_offsets (1e300) was converted to uint64: undefined behaviour (UBSan).
  check_error(
      [&] { vkt::read_safetensors(dir / "float_data_offset_1e300"); },
      {"load_safetensors", "'1.weight' has a malformed entry", "data_offsets must hold integers"});
  check_error([&] { vkt::read_safetensors(dir / "float_shape_minus_1e300"); },
              {"'x' has a malformed entry", "shape must hold integers"});
  // shape (2^61,) F64 claims 2^64 bytes: numel * 8 wrapped to 0 and matched empty data_offsets, so
  // a tensor with no bytes was returned for a shape of 2^61 elements.
  for (const char* name : {"numel_times_size_wraps_f64", "numel_times_size_wraps_f32"}) {
    INFO(name);
    check_error([&] { vkt::read_safetensors(dir / name); },
                {"load_safetensors", "'x' has data offsets outside the file"});
  }
}
