// MatmulPrecision::float16_inputs on cooperative matrices (shaders/matmul_coopmat.comp), and the
// vendor allowlist that decides where it runs.
#include "ops/matmul_coopmat.hpp"

#include <cstdlib>
#include <string>

#include "ops/launch.hpp"

namespace vkt::detail {

void cooperative_matmul(const Tensor& a, const Tensor& b, const Tensor& c,
                        const MatmulOptions& options, const Tensor& bias, const MatmulShape& s) {
  const DeviceInfo& info = a.device().info();
  // 2x2 subgroups of 4x4 fragments (128x128 tiles) where C has a few waves of them for a large
  // GPU (H100: 132 multiprocessors), else of 2x2 fragments (64x64 tiles).
  const uint32_t frags = ((s.m + 127) / 128) * ((s.n + 127) / 128) >= 264 ? 4 : 2;
  const uint32_t sg_m = 2, sg_n = 2, bm = 16 * frags * sg_m, bn = 16 * frags * sg_n;
  const uint32_t lanes = info.subgroup_size, threads = lanes * sg_m * sg_n;
  VKT_REQUIRE(threads <= info.max_workgroup_invocations, "matmul",
              "the cooperative kernel needs " + std::to_string(threads) +
                  " invocations a workgroup; the device allows " +
                  std::to_string(info.max_workgroup_invocations));
  std::array<uint32_t, 3> groups{uint32_t((s.n + bn - 1) / bn), uint32_t((s.m + bm - 1) / bm),
                                 uint32_t(s.batch)};
  VKT_REQUIRE(groups[0] <= info.max_workgroup_count[0] &&
                  groups[1] <= info.max_workgroup_count[1] &&
                  groups[2] <= info.max_workgroup_count[2],
              "matmul", "problem too large for one dispatch: C " + shape_str(c.shape()) +
                            " needs " + std::to_string(groups[0]) + " x " +
                            std::to_string(groups[1]) + " x " + std::to_string(groups[2]) +
                            " workgroups");
  struct {
    uint32_t m, n, k, stride_a, stride_b, stride_c;
  } push{uint32_t(s.m),
         uint32_t(s.n),
         uint32_t(s.k),
         s.batched_a ? uint32_t(s.m * s.k) : 0u,
         s.batched_b ? uint32_t(s.k * s.n) : 0u,
         uint32_t(s.m * s.n)};
  Kernel kernel{"matmul_coopmat",
                {threads, lanes, sg_m, sg_n, frags, frags, options.transpose_a,
                 options.transpose_b, bias.defined(), uint32_t(options.activation),
                 options.accumulate}};
  Access c_access = options.accumulate ? Access::read_write : Access::write;
  scheduler_of(a).dispatch(kernel, {in(a), in(b), {c, c_access}, in(bias.defined() ? bias : a)},
                           push, groups);
}

}  // namespace vkt::detail

namespace vkt {

bool cooperative_matmul_available(const Device& device) {
  const DeviceInfo& info = device.info();
  if (!info.cooperative_matmul_f16) return false;
  const char* forced = std::getenv("VKTRAIN_COOPERATIVE_MATRIX");
  if (forced && *forced) return std::string(forced) != "0";
  constexpr uint32_t kNvidia = 0x10DE;
  return info.vendor_id == kNvidia;
}

}  // namespace vkt
