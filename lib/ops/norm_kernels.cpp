// The normalization kernels' launchers (see norm_kernels.hpp): chunked Welford statistics,
// normalization, and the backward sums and input gradient.
#include "ops/norm_kernels.hpp"

#include <algorithm>

namespace vkt::detail {

namespace {

// A workgroup reduces at least kMinChunk elements of a row (16 per invocation at 256 invocations),
// and a row is split into at most kMaxChunks chunks, so one workgroup of kMergeGroup invocations
// merges a row's chunks in a few steps each.
constexpr uint64_t kMinChunk = 4096;
constexpr uint64_t kMaxChunks = 256;
constexpr uint32_t kMergeGroup = 64;
constexpr uint32_t kMaxGroup = 256;
constexpr uint32_t kMinGroup = 32;
// Adjacent columns per workgroup in the column variant: 32 floats are 128 bytes, a full cache line
// and one coalesced access of a 32-wide subgroup.
constexpr uint32_t kColumns = 32;

uint32_t floor_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

// A grid of `count` workgroups, folded into y past 65535 (the shaders read norm_workgroup()).
std::array<uint32_t, 3> grid_groups(uint64_t count) {
  return grid_1d(count, 1);
}

}  // namespace

NormChunks norm_chunks(const Device& device, const NormRows& rows) {
  uint64_t count = rows.count();
  uint32_t limit = std::min(kMaxGroup, floor_pow2(device.info().max_workgroup_invocations));
  // Columns: chunks count matrix rows, kColumns elements each.
  uint32_t columns = rows.seg_len == 1 && rows.rows >= kColumns && limit >= kColumns ? kColumns : 0;
  uint64_t min_chunk = columns > 0 ? kMinChunk / columns : kMinChunk;
  uint64_t chunk_len = std::max(min_chunk, (count + kMaxChunks - 1) / kMaxChunks);
  uint64_t chunks = std::max<uint64_t>(1, (count + chunk_len - 1) / chunk_len);
  // Short chunks get small workgroups (about 4 elements per invocation): layer norm over D = 20
  // should not leave 236 of 256 invocations idle.
  uint64_t per_chunk = std::min(count, chunk_len) * (columns > 0 ? columns : 1);
  uint32_t group = std::max(kMinGroup, columns);
  while (group < limit && uint64_t(group) * 4 < per_chunk) group *= 2;
  return {uint32_t(chunk_len), uint32_t(chunks), std::min(group, limit), columns};
}

void norm_partial_stats(const Tensor& x, const NormRows& rows, const NormChunks& chunks,
                        const Tensor& partial_mean, const Tensor& partial_m2) {
  struct {
    uint32_t rows, segments, seg_len, chunk_len, chunks;
    float eps;
  } push{rows.rows, rows.segments, rows.seg_len, chunks.chunk_len, chunks.chunks, 0.0f};
  scheduler_of(x).dispatch(Kernel{"norm_stats", {chunks.group, 0u, chunks.columns}},
                           {in(x), out(partial_mean), out(partial_m2)}, push,
                           grid_groups(chunks.workgroups(rows)));
}

void norm_stats(const Tensor& x, const NormRows& rows, float eps, const Tensor& mean,
                const Tensor& invstd) {
  NormChunks chunks = norm_chunks(x.device(), rows);
  struct {
    uint32_t rows, segments, seg_len, chunk_len, chunks;
    float eps;
  } push{rows.rows, rows.segments, rows.seg_len, chunks.chunk_len, chunks.chunks, eps};
  Scheduler& scheduler = scheduler_of(x);
  if (chunks.chunks == 1) {
    scheduler.dispatch(Kernel{"norm_stats", {chunks.group, 1u, chunks.columns}},
                       {in(x), out(mean), out(invstd)}, push, grid_groups(chunks.workgroups(rows)));
    return;
  }
  uint64_t partials = uint64_t(rows.rows) * chunks.chunks;
  Tensor partial_mean = Tensor::empty(x.device(), {int64_t(partials)});
  Tensor partial_m2 = Tensor::empty(x.device(), {int64_t(partials)});
  norm_partial_stats(x, rows, chunks, partial_mean, partial_m2);
  struct {
    uint32_t rows, count, chunk_len, chunks;
    float eps;
  } merge{rows.rows, uint32_t(rows.count()), chunks.chunk_len, chunks.chunks, eps};
  scheduler.dispatch(Kernel{"norm_finalize", {kMergeGroup}},
                     {in(partial_mean), in(partial_m2), out(mean), out(invstd)}, merge,
                     grid_groups(rows.rows));
}

void norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                const Tensor& beta, const NormMap& map, const Tensor& y) {
  struct {
    uint32_t n, stat_div, stat_mod, channel_div, channel_mod;
  } push{uint32_t(x.numel()), map.stat_div, map.stat_mod, map.channel_div, map.channel_mod};
  // Unused affine bindings get a bound, read-only stand-in (the shader never reads them).
  scheduler_of(x).dispatch(
      Kernel{"norm_apply", {kElementwiseGroup, gamma.defined(), beta.defined()}},
      {in(x), in(mean), in(invstd), in(gamma.defined() ? gamma : mean),
       in(beta.defined() ? beta : mean), out(y)},
      push, grid_1d(x.numel()));
}

void norm_backward_sums(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const NormRows& rows, const NormMap& map,
                        bool stat_is_row, const Tensor& sum_dy, const Tensor& sum_dy_xhat) {
  NormChunks chunks = norm_chunks(x.device(), rows);
  Tensor partial_a = sum_dy, partial_b = sum_dy_xhat;
  uint64_t partials = uint64_t(rows.rows) * chunks.chunks;
  if (chunks.chunks > 1) {
    partial_a = Tensor::empty(x.device(), {int64_t(partials)});
    partial_b = Tensor::empty(x.device(), {int64_t(partials)});
  }
  struct {
    uint32_t rows, segments, seg_len, chunk_len, chunks;
    uint32_t stat_div, stat_mod, channel_div, channel_mod;
  } push{rows.rows,    rows.segments, rows.seg_len,    chunks.chunk_len, chunks.chunks,
         map.stat_div, map.stat_mod,  map.channel_div, map.channel_mod};
  Scheduler& scheduler = scheduler_of(x);
  scheduler.dispatch(
      Kernel{"norm_backward_reduce", {chunks.group, weight.defined(), stat_is_row, chunks.columns}},
      {in(dy), in(x), in(mean), in(invstd), in(weight.defined() ? weight : mean), out(partial_a),
       out(partial_b)},
      push, grid_groups(chunks.workgroups(rows)));
  if (chunks.chunks == 1) return;
  struct {
    uint32_t rows, chunks;
  } merge{rows.rows, chunks.chunks};
  scheduler.dispatch(Kernel{"norm_sum_chunks", {kMergeGroup}},
                     {in(partial_a), in(partial_b), out(sum_dy), out(sum_dy_xhat)}, merge,
                     grid_groups(rows.rows));
}

void norm_backward_input(NormBackwardMode mode, const Tensor& dy, const Tensor& x,
                         const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                         const Tensor& sum_dy, const Tensor& sum_dy_xhat, const NormMap& map,
                         uint64_t count, const Tensor& dx) {
  struct {
    uint32_t n, stat_div, stat_mod, channel_div, channel_mod;
    float count;
  } push{uint32_t(x.numel()), map.stat_div,    map.stat_mod,
         map.channel_div,     map.channel_mod, float(count)};
  bool sums = mode != NormBackwardMode::batch_eval;
  scheduler_of(x).dispatch(
      Kernel{"norm_backward_apply", {kElementwiseGroup, uint32_t(mode), gamma.defined()}},
      {in(dy), in(x), in(mean), in(invstd), in(gamma.defined() ? gamma : mean),
       in(sums ? sum_dy : mean), in(sums ? sum_dy_xhat : mean), out(dx)},
      push, grid_1d(x.numel()));
}

void require_vector(const Tensor& t, int64_t n, const char* op, const char* name) {
  if (!t.defined()) return;
  require_dtype(t, DType::f32, op, name);
  VKT_REQUIRE(
      t.shape() == Shape{n}, op,
      std::string(name) + " has shape " + shape_str(t.shape()) + ", expected " + shape_str({n}));
}

void require_numel(const Tensor& t, int64_t n, const char* op, const char* name,
                   const std::string& expected) {
  if (!t.defined()) return;
  require_dtype(t, DType::f32, op, name);
  VKT_REQUIRE(t.numel() == n, op,
              std::string(name) + " has shape " + shape_str(t.shape()) + ", expected " + expected +
                  " (" + std::to_string(n) + " elements)");
}

void require_indexable(const Tensor& t, const char* op) {
  VKT_REQUIRE(t.numel() < (int64_t(1) << 32), op,
              "tensor " + shape_str(t.shape()) + " has 2^32 or more elements");
}

Tensor or_scratch(const Tensor& t, const Device& device, Shape shape) {
  return t.defined() ? t : Tensor::empty(device, std::move(shape));
}

}  // namespace vkt::detail
