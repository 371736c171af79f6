// MatmulPrecision::float16_inputs on cooperative matrices (shaders/matmul_coopmat.comp), and the
// vendor allowlist that decides where it runs.
#include "ops/matmul_coopmat.hpp"

#include <cstdlib>
#include <string>

#include "ops/launch.hpp"

namespace vkt::detail {

namespace {

enum class Cooperative { off, native, emulated };

// VKTRAIN_COOPERATIVE_MATRIX: 0 off, 1 on wherever the shape is, "emulated" the kernel's
// emulation (shaders/matmul_coopmat_emulated.comp) on any device; unset: the allowlist.
Cooperative cooperative_mode(const DeviceInfo& info) {
  const char* forced = std::getenv("VKTRAIN_COOPERATIVE_MATRIX");
  const std::string value = forced ? forced : "";
  if (value == "emulated") return Cooperative::emulated;
  if (!info.cooperative_matmul_f16 || value == "0") return Cooperative::off;
  constexpr uint32_t kNvidia = 0x10DE;
  return value == "1" || info.vendor_id == kNvidia ? Cooperative::native : Cooperative::off;
}

}  // namespace

void cooperative_matmul(const Tensor& a, const Tensor& b, const Tensor& c,
                        const MatmulOptions& options, const Tensor& bias, const MatmulShape& s) {
  const DeviceInfo& info = a.device().info();
  const bool emulated = cooperative_mode(info) == Cooperative::emulated;
  VKT_REQUIRE(!emulated || (info.fp16_arithmetic && info.subgroup_size >= 4), "matmul",
              "VKTRAIN_COOPERATIVE_MATRIX=emulated needs float16 arithmetic (shaderFloat16) and "
              "subgroups of at least 4 lanes; " + info.name + " has " +
                  (info.fp16_arithmetic ? "" : "no float16 arithmetic and ") + "subgroups of " +
                  std::to_string(info.subgroup_size));
  // 2x2 subgroups of 4x4 fragments (128x128 tiles) where C has a few waves of them for a large
  // GPU (H100: 132 multiprocessors), else of 2x2 fragments (64x64 tiles).
  // The emulation always takes 2x2: its accumulators live in shared memory (16 KiB at 2x2).
  const uint32_t frags =
      !emulated && ((s.m + 127) / 128) * ((s.n + 127) / 128) >= 264 ? 4 : 2;
  const uint32_t sg_m = 2, sg_n = 2, bm = 16 * frags * sg_m, bn = 16 * frags * sg_n;
  const uint32_t lanes = info.subgroup_size, threads = lanes * sg_m * sg_n;
  VKT_REQUIRE(threads <= info.max_workgroup_invocations, "matmul",
              "the cooperative kernel needs " + std::to_string(threads) +
                  " invocations a workgroup; the device allows " +
                  std::to_string(info.max_workgroup_invocations));
  // shaders/common/matmul_coopmat_tiles.glsl: float16 tiles of BM x (32 + 8) and 32 x (BN + 8),
  // a 16x16 float scratch per subgroup; the emulation adds its accumulators.
  const uint32_t subgroups = sg_m * sg_n;
  const uint64_t shared = 2 * (uint64_t(bm) * 40 + 32 * uint64_t(bn + 8)) + 4 * 256 * subgroups +
                          (emulated ? 4 * 256 * uint64_t(subgroups) * frags * frags : 0);
  VKT_REQUIRE(shared <= info.max_shared_memory, "matmul",
              std::string("the cooperative kernel") + (emulated ? "'s emulation" : "") + " needs " +
                  std::to_string(shared) + " bytes of shared memory; the device allows " +
                  std::to_string(info.max_shared_memory));
  std::array<uint32_t, 3> groups{uint32_t((s.n + bn - 1) / bn), uint32_t((s.m + bm - 1) / bm),
                                 uint32_t(s.batch)};
  require_grid(info, groups, "matmul", "C " + shape_str(c.shape()));
  const GemmSizes push = gemm_sizes(s);
  // vec4 staging, as in the tiled kernel (lib/ops/matmul.cpp).
  const bool vec4_a = (options.transpose_a ? s.m : s.k) % 4 == 0 && vec4_aligned({a});
  const bool vec4_b = (options.transpose_b ? s.k : s.n) % 4 == 0 && vec4_aligned({b});
  Kernel kernel{emulated ? "matmul_coopmat_emulated" : "matmul_coopmat",
                {threads, lanes, sg_m, sg_n, frags, frags, options.transpose_a,
                 options.transpose_b, bias.defined(), uint32_t(options.activation),
                 options.accumulate, vec4_a, vec4_b}};
  Access c_access = options.accumulate ? Access::read_write : Access::write;
  scheduler_of(a).dispatch(kernel, {in(a), in(b), {c, c_access}, in(bias.defined() ? bias : a)},
                           push, groups);
}

}  // namespace vkt::detail

namespace vkt {

bool cooperative_matmul_available(const Device& device) {
  return detail::cooperative_mode(device.info()) != detail::Cooperative::off;
}

}  // namespace vkt
