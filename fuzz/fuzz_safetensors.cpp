// libFuzzer target for the safetensors reader; the harness (and the input layout) is in
// harness.hpp.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkt::fuzz::Scratch scratch;
  vkt::fuzz::run_safetensors(scratch, data, size);
  return 0;
}
