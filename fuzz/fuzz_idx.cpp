// libFuzzer target for the idx reader; the harness (and the input layout) is in harness.hpp.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkt::fuzz::Scratch scratch;
  vkt::fuzz::run_idx(scratch, data, size);
  return 0;
}
