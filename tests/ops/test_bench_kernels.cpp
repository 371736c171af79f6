// The kernels vktrain-bench measures the device's ceilings with (shaders/bench_fma.comp,
// shaders/bench_copy.comp): a ceiling is only worth its number if the kernel does the work it is
// credited with, so both are checked for exact results here.
#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

constexpr uint32_t kGroup = 64;

uint32_t groups_for(uint32_t invocations) { return (invocations + kGroup - 1) / kGroup; }

}  // namespace

VKT_CASE("bench_fma", "closed_form") {
  // Chain c of every invocation starts at start + c and adds b per step (a = 1): the sum over the
  // chains is CHAINS·start + CHAINS(CHAINS−1)/2 + CHAINS·iterations·b, exact in float32 (all
  // partial values are small integers or halves), so the tolerance is 0.
  for (uint32_t chains : {8u, 16u}) {
    const uint32_t count = 1000, iterations = 37;
    const float a = 1.0f, b = 2.0f, start = 0.5f;
    Tensor out = ctx.poisoned({count});
    struct {
      uint32_t count, iterations;
      float a, b, start;
    } push{count, iterations, a, b, start};
    ctx.device.scheduler().dispatch(Kernel{"bench_fma", {kGroup, chains}}, {vkt::out(out)}, push,
                                    {groups_for(count), 1, 1});
    double expected = chains * double(start) + chains * (chains - 1) / 2.0 +
                      double(chains) * iterations * double(b);
    ctx.check("chains" + std::to_string(chains), "(1000,)", out.to_host(),
              std::vector<double>(count, expected), 0.0);
  }
  {
    // a = 2, b = 0 doubles every chain each step: start·2^n per chain, exact as well.
    const uint32_t count = 65, iterations = 10;
    Tensor out = ctx.poisoned({count});
    struct {
      uint32_t count, iterations;
      float a, b, start;
    } push{count, iterations, 2.0f, 0.0f, 1.0f};
    ctx.device.scheduler().dispatch(Kernel{"bench_fma", {kGroup, 8u}}, {vkt::out(out)}, push,
                                    {groups_for(count), 1, 1});
    // Σ_c (1 + c)·2^10 over 8 chains = 36·1024.
    ctx.check("doubling", "(65,)", out.to_host(), std::vector<double>(count, 36.0 * 1024.0), 0.0);
  }
}

VKT_CASE("bench_copy", "exact_copy") {
  // 4·1027 floats as 1027 vec4 elements: an odd count of workgroups' worth, with a ragged last one.
  const uint32_t vec4s = 1027;
  std::vector<float> values = ctx.uniform(size_t(vec4s) * 4);
  Tensor src = ctx.upload(values, {int64_t(vec4s) * 4});
  Tensor dst = ctx.poisoned({int64_t(vec4s) * 4});
  ctx.device.scheduler().dispatch(Kernel{"bench_copy", {kGroup}}, {in(src), out(dst)}, vec4s,
                                  {groups_for(vec4s), 1, 1});
  ctx.check("", "(4108,)", dst.to_host(), to_double(values), 0.0);
}
