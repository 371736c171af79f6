// The normalization kernels' launchers (see norm_kernels.hpp): chunked Welford statistics,
// normalization, and the backward sums and input gradient.
#include "ops/norm_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <optional>

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

// CPU devices (lavapipe) run a workgroup as SIMD vectors of subgroup-size lanes, one after another,
// switching between them at every barrier; each lane's load is a scalar loop. Their normalization
// workgroups are one subgroup (one vector: no switches) and their reduction chunks long, so each
// invocation sums ~2048 elements before the tree. Measured on lavapipe (batch norm 128x32x28x28):
// 256 -> 64 invocations made every kernel 2-3x faster, 64 -> 8 the reductions up to 2x more.
uint32_t cpu_group(const Device& device) {
  uint32_t width = device.info().subgroup_size;
  return width > 0 ? width : 8;
}
constexpr uint64_t kMinChunkCpu = 16384;
// Offsets one invocation of norm_apply / norm_backward_apply handles, at most.
constexpr uint64_t kMaxPlaneRun = 16;

// The windowed reductions (shaders/common/norm_windows.glsl): norm_stats_windows reads x through
// all kDispatchWindows windows, norm_backward_reduce_windows dy and x through half each; a chunk is
// at most the runs one tensor gets in the backward, so a dispatch holds whole chunks.
constexpr uint32_t kWindowChunkRuns = kDispatchWindows / 2;
constexpr uint64_t kWindowFloats = kUniformWindowBytes / 4;

// The reductions read fours of floats where the runs are whole fours on 16 bytes.
bool reduce_vec4(const NormRows& rows, const NormChunks& chunks,
                 std::initializer_list<Tensor> tensors) {
  return chunks.columns == 0 && rows.seg_len % 4 == 0 && chunks.chunk_len % 4 == 0 &&
         vec4_aligned(tensors);
}

// One index of NormMap as the plane kernels see it: (p / div) % mod of the plane p, or the offset
// o in the plane (per_offset).
struct PlaneIndex {
  uint32_t div, mod;
  bool per_offset;
};

// The plane layout of shaders/common/norm_planes.glsl and its grid.
struct NormPlanes {
  uint32_t planes, plane_len, tile_x, run;
  PlaneIndex stat, channel;
  std::array<uint32_t, 3> grid;
  uint32_t group;
  bool vec4;  // plane_len and the offsets count fours of floats
};

// index (i / div) % mod of element i = p·plane_len + o as a PlaneIndex, if plane_len allows it.
std::optional<PlaneIndex> plane_index(uint32_t div, uint32_t mod, uint32_t plane_len) {
  if (mod <= 1) return PlaneIndex{1, 1, false};  // always 0
  if (div == 1 && mod == plane_len) return PlaneIndex{1, 1, true};
  if (div % plane_len == 0) return PlaneIndex{div / plane_len, mod, false};
  return std::nullopt;
}

// aligned: every elementwise tensor starts on 16 bytes (a vec4).
NormPlanes norm_planes(const Device& device, const NormMap& map, uint64_t numel, bool aligned) {
  // The longest plane over which both indices stay constant or follow the offset: an index
  // (1, mod) is the offset in planes of `mod`; otherwise its divisor bounds the plane.
  uint64_t plane_len = numel;
  for (auto [div, mod] :
       {std::pair{map.stat_div, map.stat_mod}, {map.channel_div, map.channel_mod}}) {
    if (mod <= 1) continue;
    plane_len = std::min<uint64_t>(plane_len, div == 1 ? mod : div);
  }
  std::optional<PlaneIndex> stat, channel;
  if (plane_len > 0 && numel % plane_len == 0) {
    stat = plane_index(map.stat_div, map.stat_mod, uint32_t(plane_len));
    channel = plane_index(map.channel_div, map.channel_mod, uint32_t(plane_len));
  }
  if (!stat || !channel) {  // a layout of no such plane: one element per plane, divided as given
    plane_len = 1;
    stat = PlaneIndex{map.stat_div, map.stat_mod, false};
    channel = PlaneIndex{map.channel_div, map.channel_mod, false};
  }
  // Fours of floats where a plane is whole fours and neither index follows the offset.
  bool vec4 = aligned && plane_len % 4 == 0 && !stat->per_offset && !channel->per_offset;
  uint64_t planes = numel / plane_len;
  if (vec4) plane_len /= 4;
  uint32_t group = cpu_device(device) ? floor_pow2(cpu_group(device)) : kElementwiseGroup;
  uint32_t tile_x = std::min<uint64_t>(group, std::bit_ceil(plane_len));
  uint64_t run = std::clamp<uint64_t>((plane_len + tile_x - 1) / tile_x, 1, kMaxPlaneRun);
  uint64_t groups_x = (plane_len + tile_x * run - 1) / (tile_x * run);
  if (groups_x > 65535) {
    run = (plane_len + uint64_t(tile_x) * 65535 - 1) / (uint64_t(tile_x) * 65535);
    groups_x = (plane_len + tile_x * run - 1) / (tile_x * run);
  }
  uint64_t per_group = group / tile_x;
  uint64_t tiles = std::max<uint64_t>(1, (planes + per_group - 1) / per_group);
  uint64_t y = std::min<uint64_t>(tiles, 65535), z = (tiles + y - 1) / y;
  return {uint32_t(planes),
          uint32_t(plane_len),
          tile_x,
          uint32_t(run),
          *stat,
          *channel,
          {uint32_t(groups_x), uint32_t(y), uint32_t(z)},
          group,
          vec4};
}

}  // namespace

NormChunks norm_chunks(const Device& device, const NormRows& rows) {
  uint64_t count = rows.count();
  bool cpu = cpu_device(device);
  uint32_t limit = std::min(kMaxGroup, floor_pow2(device.info().max_workgroup_invocations));
  // Columns: chunks count matrix rows, kColumns elements each.
  uint32_t columns = rows.seg_len == 1 && rows.rows >= kColumns && limit >= kColumns ? kColumns : 0;
  if (cpu) limit = std::min(limit, std::max(columns, floor_pow2(cpu_group(device))));
  uint64_t min_chunk = (cpu ? kMinChunkCpu : kMinChunk) / (columns > 0 ? columns : 1);
  uint64_t chunk_len = std::max(min_chunk, (count + kMaxChunks - 1) / kMaxChunks);
  chunk_len = (chunk_len + 3) / 4 * 4;  // whole fours for the kernels' vec4 reads
  uint64_t chunks = std::max<uint64_t>(1, (count + chunk_len - 1) / chunk_len);
  // Short chunks get small workgroups (about 4 elements per invocation): layer norm over D = 20
  // should not leave 236 of 256 invocations idle.
  uint64_t per_chunk = std::min(count, chunk_len) * (columns > 0 ? columns : 1);
  uint32_t group = std::max(kMinGroup, columns);
  while (group < limit && uint64_t(group) * 4 < per_chunk) group *= 2;
  NormChunks result{uint32_t(chunk_len), uint32_t(chunks), std::min(group, limit), columns};
  // CPU devices read whole runs through uniform-buffer windows instead, a chunk of up to seven
  // runs: on llvmpipe a storage-buffer load is a loop over the lanes (docs/performance-notes.md,
  // Change 30). One run a chunk measured ~1.5x slower there (more, shorter workgroups).
  if (cpu && columns == 0 && rows.seg_len % 4 == 0 && rows.seg_len <= kWindowFloats &&
      rows.segments <= uint64_t(kWindowChunkRuns) * kMaxChunks &&
      uniform_windows_available(device, kDispatchWindows)) {
    uint32_t runs = std::min(kWindowChunkRuns, rows.segments);
    result.chunk_len = runs * rows.seg_len;
    result.chunks = uint32_t((rows.segments + runs - 1) / runs);
    result.window_runs = runs;
    result.window_rows = uint32_t(std::min<uint64_t>(rows.rows, kWindowFloats / rows.seg_len));
  }
  return result;
}

namespace {

// Whether a reduction over `tensors` takes the windowed kernels: the plan says so and every tensor
// starts on 16 bytes (the windows' offsets are then multiples of 16).
bool use_windows(const NormChunks& chunks, std::initializer_list<Tensor> tensors) {
  return chunks.window_runs > 0 && vec4_aligned(tensors);
}

// The dispatches of a windowed reduction: per block of window_rows rows, per group of chunks that
// fits the windows, each tensor's windows (kDispatchWindows / tensors of them) over those chunks'
// runs, as shaders/common/norm_windows.glsl reads them; runs past the last repeat it.
void dispatch_norm_windows(const Kernel& kernel, std::initializer_list<Arg> args,
                           std::initializer_list<Tensor> tensors, const NormRows& rows,
                           const NormChunks& chunks, float eps) {
  const Tensor& first = *tensors.begin();
  VulkanScheduler& scheduler = *first.device().shared_state()->scheduler;
  const uint32_t per_tensor = kDispatchWindows / uint32_t(tensors.size());
  const uint32_t runs = chunks.window_runs, slots = per_tensor / runs;
  for (uint32_t row0 = 0; row0 < rows.rows; row0 += chunks.window_rows) {
    for (uint32_t run0 = 0; run0 < rows.segments; run0 += slots * runs) {
      UniformWindows windows =
          tensor_windows({tensors.begin(), tensors.size()}, per_tensor, [&](uint32_t k) {
            uint64_t run = std::min<uint64_t>(run0 + k, rows.segments - 1);
            return (run * rows.rows + row0) * rows.seg_len * 4;
          });
      struct {
        uint32_t rows, segments, seg4, runs_per_chunk, chunks, row0, run0;
        float eps;
      } push{rows.rows, rows.segments, rows.seg_len / 4, runs, chunks.chunks, row0, run0, eps};
      uint32_t block = std::min(chunks.window_rows, rows.rows - row0);
      uint32_t used = std::min(slots, (rows.segments - run0 + runs - 1) / runs);
      scheduler.dispatch_windows(kernel, {args.begin(), args.size()}, windows, &push, sizeof(push),
                                 {block, used, 1});
    }
  }
}

// Whether the plane kernels read through windows (norm_plane_windows.glsl): CPU devices, vec4
// planes (whole fours on 16 bytes, both indices constant over a plane) that fit a window.
bool use_plane_windows(const Device& device, const NormPlanes& planes) {
  return cpu_device(device) && planes.vec4 && planes.plane_len <= kWindowFloats / 4 &&
         uniform_windows_available(device, kDispatchWindows);
}

// The dispatches of a windowed plane kernel (plane_windows, launch.hpp) over `tensors`.
void dispatch_plane_windows(const Kernel& kernel, std::initializer_list<Arg> args,
                            const Tensor& output, std::initializer_list<Tensor> tensors,
                            const NormPlanes& planes, float count) {
  VulkanScheduler& scheduler = *tensors.begin()->device().shared_state()->scheduler;
  const uint64_t plane_floats = uint64_t(planes.plane_len) * 4;
  const PlaneWindows plan =
      plane_windows({tensors.begin(), tensors.size()}, planes.planes, plane_floats);
  assert(plan.per_window > 0);
  for (const PlaneDispatch& d : plan.dispatches) {
    struct {
      uint32_t planes, plane_len, per_window, plane0, stat_div, stat_mod, channel_div, channel_mod;
      float count;
    } push{planes.planes,      planes.plane_len,   uint32_t(plan.per_window),
           uint32_t(d.plane0), planes.stat.div,    planes.stat.mod,
           planes.channel.div, planes.channel.mod, count};
    // The output binds only this dispatch's planes (last), so that the dispatches of one call,
    // which write disjoint ranges, need no barriers between them.
    std::vector<Arg> bound(args);
    bound.push_back(
        out(output.reshape({output.numel()})
                .narrow(int64_t(d.plane0 * plane_floats), int64_t(d.count * plane_floats))));
    scheduler.dispatch_windows(kernel, bound, d.windows, &push, sizeof(push), d.grid);
  }
}

}  // namespace

void norm_partial_stats(const Tensor& x, const NormRows& rows, const NormChunks& chunks,
                        const Tensor& partial_mean, const Tensor& partial_m2) {
  if (use_windows(chunks, {x})) {
    dispatch_norm_windows(Kernel{"norm_stats_windows", {chunks.group, 0u}},
                          {out(partial_mean), out(partial_m2)}, {x}, rows, chunks, 0.0f);
    return;
  }
  bool vec4 = reduce_vec4(rows, chunks, {x});
  struct {
    uint32_t rows, segments, seg_len, chunk_len, chunks;
    float eps;
  } push{rows.rows, rows.segments, rows.seg_len, chunks.chunk_len, chunks.chunks, 0.0f};
  scheduler_of(x).dispatch(Kernel{"norm_stats", {chunks.group, 0u, chunks.columns, vec4}},
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
  if (chunks.chunks == 1 && use_windows(chunks, {x})) {
    dispatch_norm_windows(Kernel{"norm_stats_windows", {chunks.group, 1u}},
                          {out(mean), out(invstd)}, {x}, rows, chunks, eps);
    return;
  }
  if (chunks.chunks == 1) {
    scheduler.dispatch(
        Kernel{"norm_stats", {chunks.group, 1u, chunks.columns, reduce_vec4(rows, chunks, {x})}},
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
                const Tensor& beta, const NormMap& map, const Tensor& y, bool relu) {
  NormPlanes planes = norm_planes(x.device(), map, uint64_t(x.numel()), vec4_aligned({x, y}));
  if (use_plane_windows(x.device(), planes)) {
    dispatch_plane_windows(
        Kernel{"norm_apply_windows", {planes.group, gamma.defined(), beta.defined(), relu}},
        {in(mean), in(invstd), in(gamma.defined() ? gamma : mean),
         in(beta.defined() ? beta : mean)},
        y, {x}, planes, 0.0f);
    return;
  }
  struct {
    uint32_t planes, plane_len, run, stat_div, stat_mod, channel_div, channel_mod;
  } push{planes.planes,   planes.plane_len,   planes.run,        planes.stat.div,
         planes.stat.mod, planes.channel.div, planes.channel.mod};
  // Unused affine bindings get a bound, read-only stand-in (the shader never reads them).
  scheduler_of(x).dispatch(
      Kernel{"norm_apply",
             {planes.group, gamma.defined(), beta.defined(), planes.tile_x, planes.stat.per_offset,
              planes.channel.per_offset, planes.vec4, relu}},
      {in(x), in(mean), in(invstd), in(gamma.defined() ? gamma : mean),
       in(beta.defined() ? beta : mean), out(y)},
      push, planes.grid);
}

void norm_backward_sums(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const NormRows& rows, const NormMap& map,
                        bool stat_is_row, const Tensor& sum_dy, const Tensor& sum_dy_xhat,
                        const FusedRelu* relu, const Tensor& relu_gamma) {
  assert(!relu || (stat_is_row && !weight.defined()));
  bool mask_gamma = relu && relu_gamma.defined(), mask_beta = relu && relu->beta.defined();
  NormChunks chunks = norm_chunks(x.device(), rows);
  Tensor partial_a = sum_dy, partial_b = sum_dy_xhat;
  uint64_t partials = uint64_t(rows.rows) * chunks.chunks;
  if (chunks.chunks > 1) {
    partial_a = Tensor::empty(x.device(), {int64_t(partials)});
    partial_b = Tensor::empty(x.device(), {int64_t(partials)});
  }
  // The statistics row of run j of reduction row r: element (j·rows + r)·seg_len + o has row
  // (that / stat_div) % stat_mod = j·stat_per_run + r / rows_per_stat when stat_div is a whole
  // number of runs dividing a run of all rows (group norm's channels, layer norm's columns).
  uint32_t stat_per_run = 0, rows_per_stat = 1;
  if (!stat_is_row) {
    uint64_t run_of_rows = uint64_t(rows.rows) * rows.seg_len;
    assert(map.stat_div % rows.seg_len == 0 && run_of_rows % map.stat_div == 0);
    stat_per_run = uint32_t(run_of_rows / map.stat_div);
    rows_per_stat = map.stat_div / rows.seg_len;
    assert(uint64_t(rows.segments - 1) * stat_per_run + (rows.rows - 1) / rows_per_stat <
           map.stat_mod);
  }
  bool channel_is_offset = map.channel_div == 1 && map.channel_mod == rows.seg_len;
  struct {
    uint32_t rows, segments, seg_len, chunk_len, chunks;
    uint32_t stat_per_run, rows_per_stat, channel_div, channel_mod;
  } push{rows.rows,    rows.segments, rows.seg_len,    chunks.chunk_len, chunks.chunks,
         stat_per_run, rows_per_stat, map.channel_div, map.channel_mod};
  Scheduler& scheduler = scheduler_of(x);
  if (stat_is_row && !weight.defined() && use_windows(chunks, {dy, x})) {
    dispatch_norm_windows(Kernel{"norm_backward_reduce_windows",
                                 {chunks.group, relu != nullptr, mask_gamma, mask_beta}},
                          {in(mean), in(invstd), in(mask_gamma ? relu_gamma : mean),
                           in(mask_beta ? relu->beta : mean), out(partial_a), out(partial_b)},
                          {dy, x}, rows, chunks, 0.0f);
  } else {
    scheduler.dispatch(
        Kernel{"norm_backward_reduce",
               {chunks.group, weight.defined(), stat_is_row, chunks.columns, channel_is_offset,
                !weight.defined() && reduce_vec4(rows, chunks, {dy, x}), relu != nullptr,
                mask_gamma, mask_beta}},
        {in(dy), in(x), in(mean), in(invstd),
         in(weight.defined() ? weight
            : mask_gamma     ? relu_gamma
                             : mean),
         out(partial_a), out(partial_b), in(mask_beta ? relu->beta : mean)},
        push, grid_groups(chunks.workgroups(rows)));
  }
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
                         uint64_t count, const Tensor& dx, const FusedRelu* relu) {
  bool mask_beta = relu && relu->beta.defined();
  NormPlanes planes = norm_planes(x.device(), map, uint64_t(x.numel()), vec4_aligned({dy, x, dx}));
  struct {
    uint32_t planes, plane_len, run, stat_div, stat_mod, channel_div, channel_mod;
    float count;
  } push{planes.planes,   planes.plane_len,   planes.run,         planes.stat.div,
         planes.stat.mod, planes.channel.div, planes.channel.mod, float(count)};
  bool sums = mode != NormBackwardMode::batch_eval;
  if (use_plane_windows(x.device(), planes)) {
    dispatch_plane_windows(
        Kernel{"norm_backward_apply_windows",
               {planes.group, uint32_t(mode), gamma.defined(), relu != nullptr, mask_beta}},
        {in(mean), in(invstd), in(gamma.defined() ? gamma : mean), in(sums ? sum_dy : mean),
         in(sums ? sum_dy_xhat : mean), in(mask_beta ? relu->beta : mean)},
        dx, {dy, x}, planes, float(count));
    return;
  }
  scheduler_of(x).dispatch(
      Kernel{"norm_backward_apply",
             {planes.group, uint32_t(mode), gamma.defined(), planes.tile_x, planes.stat.per_offset,
              planes.channel.per_offset, planes.vec4, relu != nullptr, mask_beta}},
      {in(dy), in(x), in(mean), in(invstd), in(gamma.defined() ? gamma : mean),
       in(sums ? sum_dy : mean), in(sums ? sum_dy_xhat : mean), out(dx),
       in(mask_beta ? relu->beta : mean)},
      push, planes.grid);
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
