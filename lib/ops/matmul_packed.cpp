// The packed matmul: per chunk of k, op(A) and op(B)ᵀ are packed into k-major panels
// (shaders/matmul_pack.comp) and shaders/matmul_packed.comp multiplies them, reading the panels
// through uniform-buffer windows, one dispatch per block of panels that fits in kPackedWindows
// windows. Chunks after the first continue each output's fma chain from the partial sums the
// previous chunk stored, so the results are those of the other kernels, bit for bit.
#include "ops/matmul_packed.hpp"

#include <algorithm>

#include "ops/launch.hpp"

namespace vkt::detail {

namespace {

constexpr uint32_t kPackedWindows = 14;  // shaders/matmul_packed.comp: kWindows
constexpr uint64_t kWindowFloats = kUniformWindowBytes / 4;
constexpr uint32_t kPackGroup = 64;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Panels of A (na) and of B (nb) per dispatch for panels of `a_floats` and `b_floats`: the pair
// that fits the windows with the fewest dispatches.
std::pair<uint64_t, uint64_t> block_of(uint64_t a_panels, uint64_t b_panels, uint64_t a_floats,
                                       uint64_t b_floats) {
  std::pair<uint64_t, uint64_t> best{1, 1};
  uint64_t best_dispatches = UINT64_MAX;
  for (uint64_t na = 1; na <= a_panels; ++na) {
    uint64_t wa = ceil_div(na * a_floats, kWindowFloats);
    if (wa >= kPackedWindows) break;
    uint64_t nb = std::min(b_panels, (kPackedWindows - wa) * kWindowFloats / b_floats);
    if (nb == 0) break;
    uint64_t dispatches = ceil_div(a_panels, na) * ceil_div(b_panels, nb);
    if (dispatches < best_dispatches) best = {na, nb}, best_dispatches = dispatches;
  }
  return best;
}

struct PackPush {
  uint32_t rows, padded, k0, kc, row_stride, k_stride, x_offset;
};

struct GemmPush {
  uint32_t m, n, kc, m0, n0, a_windows, c_offset, first_chunk, last_chunk;
};

}  // namespace

void packed_matmul(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options,
                   const Tensor& bias, const MatmulShape& s, const KernelChoice& tile) {
  VulkanScheduler& scheduler = *a.device().shared_state()->scheduler;
  const uint32_t lanes = a.device().info().subgroup_size;
  const uint64_t tm = tile.rows, nb_cols = uint64_t(lanes) * tile.columns;
  const uint64_t a_panels = ceil_div(s.m, tm), b_panels = ceil_div(s.n, nb_cols);
  // One panel of each must fit with room for the windows' rounding: (TM + SG·TN)·kc floats in
  // 12 of the 14 windows.
  const uint64_t kc_max = std::min<uint64_t>(s.k, 12 * kWindowFloats / (tm + nb_cols));
  const uint64_t chunks = ceil_div(s.k, kc_max);
  // A's panels first, B's from the next 256-byte boundary (a storage-buffer view must start there).
  const uint64_t a_part = ceil_div(a_panels * tm * kc_max, 64) * 64;
  Tensor packed = Tensor::empty(a.device(), {int64_t(a_part + b_panels * nb_cols * kc_max)});
  Tensor packed_a = packed.narrow(0, int64_t(a_part));
  Tensor packed_b = packed.narrow(int64_t(a_part), int64_t(b_panels * nb_cols * kc_max));
  Tensor partial = chunks > 1 ? Tensor::empty(a.device(), {s.batch * s.m, s.n}) : Tensor{};

  // op(A)(r, k) = a[r·row_stride + k·k_stride]; op(B)ᵀ(r, k) = op(B)(k, r) likewise.
  const uint32_t a_row = options.transpose_a ? 1 : uint32_t(s.k);
  const uint32_t a_k = options.transpose_a ? uint32_t(s.m) : 1;
  const uint32_t b_row = options.transpose_b ? uint32_t(s.k) : 1;
  const uint32_t b_k = options.transpose_b ? 1 : uint32_t(s.n);
  const Kernel pack_a{"matmul_pack", {kPackGroup, uint32_t(tm)}};
  const Kernel pack_b{"matmul_pack", {kPackGroup, uint32_t(nb_cols)}};
  const Kernel gemm{"matmul_packed",
                    {lanes, tile.rows, tile.columns, bias.defined(), uint32_t(options.activation),
                     options.accumulate}};
  const Access c_access = options.accumulate ? Access::read_write : Access::write;

  for (int64_t z = 0; z < s.batch; ++z) {
    for (uint64_t chunk = 0; chunk < chunks; ++chunk) {
      const uint64_t k0 = chunk * kc_max, kc = std::min<uint64_t>(kc_max, s.k - k0);
      PackPush pa{uint32_t(s.m), uint32_t(a_panels * tm), uint32_t(k0), uint32_t(kc), a_row, a_k,
                  s.batched_a ? uint32_t(z * s.m * s.k) : 0u};
      scheduler_of(a).dispatch(pack_a, {in(a), out(packed_a)}, pa,
                         {uint32_t(ceil_div(pa.padded, kPackGroup)), uint32_t(kc), 1});
      PackPush pb{uint32_t(s.n), uint32_t(b_panels * nb_cols), uint32_t(k0), uint32_t(kc), b_row,
                  b_k, s.batched_b ? uint32_t(z * s.k * s.n) : 0u};
      scheduler_of(a).dispatch(pack_b, {in(b), out(packed_b)}, pb,
                         {uint32_t(ceil_div(pb.padded, kPackGroup)), uint32_t(kc), 1});

      const uint64_t a_floats = kc * tm, b_floats = kc * nb_cols;
      auto [na, nb] = block_of(a_panels, b_panels, a_floats, b_floats);
      const bool first = chunk == 0, last = chunk + 1 == chunks;
      for (uint64_t p0 = 0; p0 < a_panels; p0 += na) {
        const uint64_t pa_count = std::min(na, a_panels - p0);
        for (uint64_t q0 = 0; q0 < b_panels; q0 += nb) {
          const uint64_t pb_count = std::min(nb, b_panels - q0);
          UniformWindows windows{packed, {}};
          const uint64_t wa = ceil_div(pa_count * a_floats, kWindowFloats);
          const uint64_t wb = ceil_div(pb_count * b_floats, kWindowFloats);
          for (uint64_t w = 0; w < wa; ++w)
            windows.offsets.push_back((p0 * a_floats + w * kWindowFloats) * 4);
          for (uint64_t w = 0; w < wb; ++w)
            windows.offsets.push_back((a_part + q0 * b_floats + w * kWindowFloats) * 4);
          // The shader declares all kPackedWindows; the unused ones repeat the last.
          while (windows.offsets.size() < kPackedWindows)
            windows.offsets.push_back(windows.offsets.back());
          GemmPush push{uint32_t(s.m),        uint32_t(s.n),
                        uint32_t(kc),         uint32_t(p0 * tm),
                        uint32_t(q0 * nb_cols), uint32_t(wa),
                        uint32_t(z * s.m * s.n), first ? 1u : 0u,
                        last ? 1u : 0u};
          // Partial is only touched between chunks; a single chunk binds C in its place.
          Arg partial_arg = partial.defined() ? inout(partial) : Arg{c, c_access};
          const Arg args[] = {{c, c_access}, partial_arg, in(bias.defined() ? bias : c)};
          scheduler.dispatch_windows(gemm, args, windows, &push, sizeof(push),
                                     {uint32_t(pb_count), uint32_t(pa_count), 1});
        }
      }
    }
  }
}

}  // namespace vkt::detail

namespace vkt {

bool packed_matmul_available(const Device& device) {
  const VkPhysicalDeviceLimits& limits = device.shared_state()->properties.limits;
  return limits.maxUniformBufferRange >= detail::kUniformWindowBytes &&
         limits.maxPerStageDescriptorUniformBuffers >= detail::kPackedWindows &&
         limits.minUniformBufferOffsetAlignment <= 16;
}

}  // namespace vkt
