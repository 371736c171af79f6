// fill, copy, clone, increment: exact results.
#include <cstring>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

VKT_CASE("fill", "float_odd") {
  Tensor t = ctx.poisoned({3, 1001});
  t.fill(-2.5f);
  std::vector<double> ref(3003, -2.5);
  ctx.check("", shapes({t.shape()}), t.to_host(), ref, 0.0);
}

VKT_CASE("fill", "int32_and_uint32") {
  Tensor i = Tensor::empty(ctx.device, {77}, DType::i32);
  i.fill(-7.0f);
  Tensor u = Tensor::empty(ctx.device, {77}, DType::u32);
  u.fill(9.0f);
  std::vector<int32_t> gi = i.to_host_i32();
  std::vector<uint32_t> gi_bits(gi.begin(), gi.end());
  ctx.check_equal("i32", "(77,)", gi_bits, std::vector<uint32_t>(77, uint32_t(-7)));
  ctx.check_equal("u32", "(77,)", u.to_host_u32(), std::vector<uint32_t>(77, 9u));
}

VKT_CASE("copy", "roundtrip_and_clone") {
  std::vector<float> values = ctx.uniform(4099);
  Tensor src = ctx.upload(values, {4099});
  Tensor dst = ctx.poisoned({4099});
  copy(src, dst);
  ctx.check("copy", "(4099,)", dst.to_host(), to_double(values), 0.0);
  ctx.check("clone", "(4099,)", clone(src).to_host(), to_double(values), 0.0);
  ctx.check_error("size_mismatch", [&] { copy(src, ctx.poisoned({4098})); },
                  {"copy", "(4099,)", "(4098,)"});
}

VKT_CASE("copy", "views_share_memory") {
  std::vector<float> values = ctx.uniform(8 * 12);
  Tensor t = ctx.upload(values, {8, 12});
  // Rows 4..7 start at byte 192, aligned for every device (alignment <= 256 bytes).
  Tensor rows = clone(t.narrow(4, 4).reshape({-1}));
  std::vector<double> ref(values.begin() + 48, values.end());
  ctx.check("narrow", "(4, 12)", rows.to_host(), ref, 0.0);
  ctx.check_error("bad_reshape", [&] { (void)t.reshape({5, 20}); }, {"reshape", "(5, 20)", "(8, 12)"});
  ctx.check_error("bad_narrow", [&] { (void)t.narrow(6, 4); }, {"narrow", "(8, 12)"});
}

VKT_CASE("increment", "step_counter") {
  uint32_t start[] = {41};
  Tensor counter = Tensor::from_host(ctx.device, std::span<const uint32_t>(start), {1});
  for (int i = 0; i < 5; ++i) increment(counter);
  ctx.check_equal("", "(1,)", counter.to_host_u32(), std::vector<uint32_t>{46});
  ctx.check_error("wrong_dtype", [&] { increment(Tensor::zeros(ctx.device, {1})); },
                  {"increment", "uint32"});
}
