// The packed matmul: shaders/matmul_packed.comp reads both operands through uniform-buffer windows
// (see there). Per call it picks the orientation — U, the operand all lanes read alike, is op(A)
// or op(B)ᵀ — that moves the fewest floats through the slow per-lane path: U is read in place
// when it is stored k-contiguous (rows of whole vec4s) and D has few columns, else packed into
// k-major tiles; D is packed into k-major panels. Packing is a vkCmdCopyBuffer of rows where the
// operand's rows (of U or D) are contiguous and a panel is at least kMinCopiedWidth rows wide,
// else matmul_pack.comp. Then, per chunk of k, one
// dispatch per block of U rows by D panels that fits in kDispatchWindows windows. Chunks after the
// first continue each output's fma chain from the partial sums the previous chunk stored, so
// results are bit-identical to the other kernels.
#include "ops/matmul_packed.hpp"

#include <algorithm>

#include "ops/launch.hpp"

namespace vkt::detail {

namespace {

constexpr uint64_t kWindowFloats = kUniformWindowBytes / 4;
constexpr uint32_t kPackGroup = 64;

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

// An operand as R x K: element (r, k) of batch z at x[offset(z) + r·row_stride + k·k_stride].
struct View {
  Tensor tensor;
  uint64_t rows, row_stride, k_stride, batch_stride;  // batch_stride 0: broadcast
  uint64_t offset(int64_t z) const { return uint64_t(z) * batch_stride; }
};

// Up to this many columns of D, U is read in place where it can be: the rows layout costs more
// per step than packed tiles (1024³ on lavapipe: 120-190 ms against 78 ms), which repay their
// packing only over many columns (docs/performance-notes.md, 2026-12-03).
constexpr uint64_t kInPlaceMaxColumns = 256;

// U read in place: k-contiguous rows of whole vec4s, 16-byte aligned, a tile's TM rows (and k of
// one chunk) in one window, few columns of D.
bool in_place_u(const View& u, const View& d, uint64_t tm, uint64_t kc) {
  return d.rows <= kInPlaceMaxColumns && u.k_stride == 1 && u.row_stride % 4 == 0 &&
         u.batch_stride % 4 == 0 && u.tensor.byte_offset() % 16 == 0 &&
         (tm - 1) * u.row_stride + kc <= kWindowFloats;
}
// Regions of a copy shorter than this cost more than packing by the shader: a region of 16 floats
// (a U tile of 16 rows) made the MLP's dW1 (1024x128ᵀ·128x784) take 13–15 ms against 8.3–8.9
// packed by matmul_pack (lavapipe, 2026-12-04); 64-float D panels copy as fast as the shader packs.
constexpr uint64_t kMinCopiedWidth = 64;

// An operand packed by copying rows, `width` rows a panel: its rows (r) are contiguous for each k,
// and a panel's row is long enough to copy.
bool copied(const View& x, uint64_t width) {
  return x.row_stride == 1 && width >= kMinCopiedWidth;
}

// Floats through per-lane loads and stores, a copied float counted as an eighth.
uint64_t pack_cost(const View& x, uint64_t width, uint64_t k) {
  return copied(x, width) ? x.rows * k / 8 : x.rows * k;
}
uint64_t cost(const View& u, const View& d, uint64_t tm, uint64_t nd, uint64_t kc, uint64_t k) {
  return (in_place_u(u, d, tm, kc) ? 0 : pack_cost(u, tm, k)) + pack_cost(d, nd, k);
}

struct PackPush {
  uint32_t rows, padded, k0, kc, row_stride, k_stride, x_offset;
};

struct GemmPush {
  uint32_t rows, cols, kc, ldu, u0, d0, u_windows, c_offset, c_row, c_col, first_chunk, last_chunk;
  DropoutPush dropout;
};

// Windows of `span` floats of `tensor` from float `start`.
void add_windows(UniformWindows& windows, const Tensor& tensor, uint64_t start, uint64_t span) {
  for (uint64_t w = 0; w < ceil_div(span, kWindowFloats); ++w)
    windows.push_back({tensor, (start + w * kWindowFloats) * 4});
}

}  // namespace

void packed_matmul(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options,
                   const Tensor& bias, const MatmulShape& s, const KernelChoice& tile) {
  VulkanScheduler& scheduler = *a.device().shared_state()->scheduler;
  const uint64_t m = s.m, n = s.n, k = s.k;
  const bool ta = options.transpose_a, tb = options.transpose_b;
  View op_a{a, m, ta ? 1 : k, ta ? m : 1, s.batched_a ? m * k : 0};
  View op_bt{b, n, tb ? k : 1, tb ? 1 : n, s.batched_b ? k * n : 0};
  const uint32_t lanes = a.device().info().subgroup_size;
  const uint64_t tm = tile.rows, nd = uint64_t(lanes) * tile.columns;
  // A chunk of k: one D panel in at most 6 windows, each tile of U rows in one window.
  const uint64_t kc_d = std::min(k, std::max<uint64_t>(4, 6 * kWindowFloats / nd / 4 * 4));
  const bool swap = cost(op_bt, op_a, tm, nd, kc_d, k) < cost(op_a, op_bt, tm, nd, kc_d, k);
  const View& u = swap ? op_bt : op_a;
  const View& d = swap ? op_a : op_bt;
  const bool u_in_place = in_place_u(u, d, tm, kc_d);
  const uint64_t kc_max = u_in_place ? kc_d : std::min(kc_d, kWindowFloats / tm / 4 * 4);
  const uint64_t chunks = ceil_div(k, kc_max);
  const uint64_t u_tiles = ceil_div(u.rows, tm), d_panels = ceil_div(d.rows, nd);

  Tensor packed_u =
      u_in_place ? Tensor{} : Tensor::empty(a.device(), {int64_t(u_tiles * tm * kc_max)});
  Tensor packed_d = Tensor::empty(a.device(), {int64_t(d_panels * nd * kc_max)});
  Tensor partial = chunks > 1 ? Tensor::empty(a.device(), {s.batch * s.m, s.n}) : Tensor{};
  const Kernel gemm{"matmul_packed",
                    {lanes, tile.rows, tile.columns, bias.defined(), uint32_t(options.activation),
                     options.accumulate, swap, !u_in_place, dropout_epilogue(options)}};
  const DropoutPush dropout = dropout_push(options);
  const Tensor& step = dropout_epilogue(options) ? options.dropout_step : c;
  const Access c_access = options.accumulate ? Access::read_write : Access::write;
  std::vector<VkBufferCopy> regions;
  // Chunk [k0, k0 + kc) of x into k-major panels of `width` rows: kc x width floats each.
  auto pack = [&](const View& x, const Tensor& packed, uint64_t width, int64_t z, uint64_t k0,
                  uint64_t kc) {
    const uint64_t panels = ceil_div(x.rows, width);
    if (copied(x, width)) {
      regions.clear();
      for (uint64_t p = 0; p < panels; ++p)
        for (uint64_t kk = 0; kk < kc; ++kk)
          regions.push_back({(x.offset(z) + p * width + (k0 + kk) * x.k_stride) * 4,
                             (p * kc + kk) * width * 4, std::min(width, x.rows - p * width) * 4});
      scheduler.copy_regions(x.tensor, packed, regions, "matmul_pack_copy");
      return;
    }
    PackPush push{uint32_t(x.rows),     uint32_t(panels * width), uint32_t(k0),
                  uint32_t(kc),         uint32_t(x.row_stride),   uint32_t(x.k_stride),
                  uint32_t(x.offset(z))};
    scheduler_of(a).dispatch(Kernel{"matmul_pack", {kPackGroup, uint32_t(width)}},
                             {in(x.tensor), out(packed)}, push,
                             {uint32_t(ceil_div(push.padded, kPackGroup)), uint32_t(kc), 1});
  };

  for (int64_t z = 0; z < s.batch; ++z) {
    for (uint64_t chunk = 0; chunk < chunks; ++chunk) {
      const uint64_t k0 = chunk * kc_max, kc = std::min(kc_max, k - k0);
      if (!u_in_place) pack(u, packed_u, tm, z, k0, kc);
      pack(d, packed_d, nd, z, k0, kc);
      // A tile's window: its rows from (first row, k0) in place, or its packed kc x TM floats.
      const Tensor& u_tensor = u_in_place ? u.tensor : packed_u;
      auto tile_start = [&](uint64_t tile) {
        return u_in_place ? u.offset(z) + k0 + tile * tm * u.row_stride : tile * kc * tm;
      };
      // The block: tiles of U rows (a window each) by D panels, the fewest dispatches that fit.
      const uint64_t d_floats = kc * nd;
      uint64_t block_u = 1, block_d = 1, best = UINT64_MAX;
      for (uint64_t bu = 1; bu < kDispatchWindows && bu <= u_tiles; ++bu) {
        uint64_t bd = std::min(d_panels, (kDispatchWindows - bu) * kWindowFloats / d_floats);
        if (bd == 0) break;
        uint64_t dispatches = ceil_div(u_tiles, bu) * ceil_div(d_panels, bd);
        if (dispatches < best) block_u = bu, block_d = bd, best = dispatches;
      }
      const bool first = chunk == 0, last = chunk + 1 == chunks;
      for (uint64_t t0 = 0; t0 < u_tiles; t0 += block_u) {
        const uint64_t u0 = t0 * tm, tiles = std::min(block_u, u_tiles - t0);
        for (uint64_t q0 = 0; q0 < d_panels; q0 += block_d) {
          const uint64_t q_count = std::min(block_d, d_panels - q0);
          UniformWindows windows;
          for (uint64_t t = 0; t < tiles; ++t)
            windows.push_back({u_tensor, tile_start(t0 + t) * 4});
          const uint32_t u_windows = uint32_t(windows.size());
          add_windows(windows, packed_d, q0 * d_floats, q_count * d_floats);
          // The shader declares all kDispatchWindows; the unused ones repeat the last.
          while (windows.size() < kDispatchWindows) windows.push_back(windows.back());
          GemmPush push{uint32_t(u.rows),
                        uint32_t(d.rows),
                        uint32_t(kc),
                        uint32_t(u_in_place ? u.row_stride : tm),
                        uint32_t(u0),
                        uint32_t(q0 * nd),
                        u_windows,
                        uint32_t(z * m * n),
                        swap ? 1u : uint32_t(n),
                        swap ? uint32_t(n) : 1u,
                        first ? 1u : 0u,
                        last ? 1u : 0u,
                        dropout};
          // Partial is only touched between chunks; a single chunk binds C in its place.
          const Arg args[] = {{c, c_access},
                              partial.defined() ? inout(partial) : Arg{c, c_access},
                              in(bias.defined() ? bias : c),
                              in(step)};
          scheduler.dispatch_windows(gemm, args, windows, &push, sizeof(push),
                                     {uint32_t(q_count), uint32_t(tiles), 1});
        }
      }
    }
  }
}

}  // namespace vkt::detail

namespace vkt {

bool packed_matmul_available(const Device& device) {
  return detail::uniform_windows_available(device, detail::kDispatchWindows);
}

}  // namespace vkt
