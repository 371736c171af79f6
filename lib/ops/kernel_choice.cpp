#include "ops/kernel_choice.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "core/check.hpp"
#include "core/state.hpp"
#include "vktrain/scheduler.hpp"

namespace vkt::detail {

namespace {

// tiled | tiled:TM,TN | subgroup | subgroup:TM,TN | packed | packed:TM,TN
KernelChoice parse(const char* op, const char* env_var, const std::string& value) {
  unsigned rows = 0, columns = 0;
  char end = 0;
  for (auto [name, kind] : {std::pair{"tiled", KernelChoice::Kind::tiled},
                            std::pair{"subgroup", KernelChoice::Kind::subgroup},
                            std::pair{"packed", KernelChoice::Kind::packed}}) {
    if (value == name || std::sscanf(value.c_str(), (std::string(name) + ":%u,%u%c").c_str(), &rows,
                                     &columns, &end) == 2)
      return {kind, rows, columns};
  }
  throw_arg_error(op, std::string(env_var) + "='" + value +
                          "': expected tiled, tiled:TM,TN, subgroup, subgroup:TM,TN, packed or "
                          "packed:TM,TN");
}

bool power_of_two(uint32_t n) {
  return n > 0 && (n & (n - 1)) == 0;
}

// The fastest of a few runs (after a warm-up run that also creates the pipeline): the minimum is
// the least disturbed by other work on a shared machine.
double time_runs(const Device& device, const std::function<void()>& record) {
  using Clock = std::chrono::steady_clock;
  record();
  device.synchronize();
  double best = std::numeric_limits<double>::infinity(), total = 0;
  for (int run = 0; run < 5 && (run < 2 || total < 0.05); ++run) {
    auto start = Clock::now();
    record();
    device.synchronize();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, seconds);
    total += seconds;
  }
  return best;
}

// Whether the subgroup kernels can run: one subgroup must fit in a workgroup.
bool subgroup_possible(const DeviceInfo& info) {
  uint32_t lanes = info.subgroup_size;
  return lanes >= 4 && lanes <= 128 && lanes <= info.max_workgroup_invocations;
}

// What the tuner times: the tiled kernel (matmul: with 4x4 and 8x8 outputs per invocation) and
// subgroup (and, where available, packed) tiles of 1, 2, 4 and 8 subgroups of rows by 4 or 8
// columns per lane (rows x columns <= 512, what resolve_kernel accepts; packed also 16 where the
// op takes it). Packed tiles stop at 128 accumulators a lane: llvmpipe takes
// superlinearly longer to compile the larger ones (matmul_packed 16x8 ~5 s, 32x8 17 s, 64x4 20 s,
// 64x8 64 s on the development machine, 2026-12-03), which spill and were never the fastest.
constexpr uint32_t kMaxTunedPackedTile = 128;
std::vector<KernelChoice> candidates(const DeviceInfo& info, PackedKernel packed,
                                     bool tiled_variants, uint32_t packed_columns) {
  std::vector<KernelChoice> list;
  if (tiled_variants)
    list = {{KernelChoice::Kind::tiled, 4, 4}, {KernelChoice::Kind::tiled, 8, 8}};
  else
    list = {{KernelChoice::Kind::tiled}};
  uint32_t lanes = info.subgroup_size;
  if (!subgroup_possible(info)) return list;
  for (auto kind : {KernelChoice::Kind::subgroup, KernelChoice::Kind::packed}) {
    if (kind == KernelChoice::Kind::packed && packed == PackedKernel::none) continue;
    for (uint32_t rows : {lanes, 2 * lanes, 4 * lanes, 8 * lanes})
      for (uint32_t columns : {4u, 8u, 16u})
        if (rows * columns <= 512 &&
            (columns <= 8 || (kind == KernelChoice::Kind::packed && columns <= packed_columns)) &&
            (kind != KernelChoice::Kind::packed ||
             (power_of_two(rows) && rows * columns <= kMaxTunedPackedTile)))
          list.push_back({kind, rows, columns});
  }
  return list;
}

}  // namespace

int64_t size_bucket(int64_t n) {
  int64_t bucket = 1;
  while (bucket < n) bucket *= 2;
  return bucket;
}

std::string kernel_name(const KernelChoice& choice) {
  switch (choice.kind) {
    case KernelChoice::Kind::tiled:
      if (choice.rows == 0) return "tiled";
      return "tiled:" + std::to_string(choice.rows) + "," + std::to_string(choice.columns);
    case KernelChoice::Kind::subgroup:
      return "subgroup:" + std::to_string(choice.rows) + "," + std::to_string(choice.columns);
    case KernelChoice::Kind::packed:
      return "packed:" + std::to_string(choice.rows) + "," + std::to_string(choice.columns);
    default: return "automatic";
  }
}

KernelChoice tuned_kernel(const Device& device, const char* op, const char* env_var,
                          KernelChoice requested, int64_t rows, int64_t columns,
                          const std::function<std::string()>& key,
                          const std::function<void(const KernelChoice&)>& record,
                          PackedKernel packed, uint32_t packed_row_subgroups,
                          uint32_t packed_columns) {
  const char* text = std::getenv(env_var);
  Tuner& tuner = *device.shared_state()->tuner;
  // The common eager path (no tuning, nothing remembered) builds no candidate list.
  if (requested.kind != KernelChoice::Kind::automatic || (text && *text) ||
      (!tuner.enabled() && tuner.empty()))
    return resolve_kernel(op, env_var, device.info(), requested, rows, columns, packed,
                          packed_row_subgroups, packed_columns);
  std::vector<KernelChoice> list =
      candidates(device.info(), packed, std::string_view(op) == "matmul", packed_columns);
  std::vector<std::string> names;
  for (const KernelChoice& c : list) names.push_back(kernel_name(c));
  std::string full_key = std::string(op) + " " + key();
  std::optional<std::string> chosen = tuner.remembered(full_key, names);
  if (!chosen && tuner.enabled() && list.size() > 1 && !device.scheduler().capturing())
    chosen = tuner.tune(full_key, names,
                        [&](size_t i) { return time_runs(device, [&] { record(list[i]); }); });
  KernelChoice choice = requested;
  if (chosen) choice = parse(op, "the tuning file", *chosen);
  return resolve_kernel(op, env_var, device.info(), choice, rows, columns, packed,
                        packed_row_subgroups, packed_columns);
}

KernelChoice resolve_kernel(const char* op, const char* env_var, const DeviceInfo& info,
                            KernelChoice requested, int64_t rows, int64_t columns,
                            PackedKernel packed_kernel, uint32_t packed_row_subgroups,
                            uint32_t packed_columns) {
  if (requested.kind == KernelChoice::Kind::automatic) {
    const char* text = std::getenv(env_var);
    if (text && *text) requested = parse(op, env_var, text);
  }
  const uint32_t lanes = info.subgroup_size;
  bool possible = subgroup_possible(info);
  if (requested.kind == KernelChoice::Kind::automatic)
    requested.kind = info.type != "cpu" || !possible            ? KernelChoice::Kind::tiled
                     : packed_kernel == PackedKernel::preferred ? KernelChoice::Kind::packed
                                                                : KernelChoice::Kind::subgroup;
  if (requested.kind == KernelChoice::Kind::tiled) return requested;
  const bool packed = requested.kind == KernelChoice::Kind::packed;
  VKT_REQUIRE(possible, op,
              std::string("the ") + (packed ? "packed" : "subgroup") +
                  " kernel needs a subgroup size in [4, 128], the device reports " +
                  std::to_string(lanes));
  VKT_REQUIRE(!packed || packed_kernel != PackedKernel::none, op,
              "the packed kernel (matmul, conv2d) needs 14 uniform buffers of 64 KiB per stage, "
              "dynamic indexing of uniform-buffer arrays and a uniform offset alignment of at "
              "most 16 bytes; not available here");
  if (requested.columns == 0) {
    int64_t per_lane = (columns + lanes - 1) / lanes;
    requested.columns = per_lane >= 8 ? 8 : per_lane >= 4 ? 4 : per_lane >= 2 ? 2 : 1;
    if (packed && per_lane >= int64_t(packed_columns)) requested.columns = packed_columns;
  }
  // Four subgroups of rows where there are that many: on lavapipe 32x8 beat 16x8 by 1.8x on an
  // AVX2 host and tied it on an AVX-512 one (docs/performance-notes.md); the packed kernels keep
  // every row's accumulators live across their k loop and do best with one or two.
  if (requested.rows == 0 && packed)
    requested.rows = rows > int64_t(lanes) ? packed_row_subgroups * lanes : lanes;
  if (requested.rows == 0)
    requested.rows = rows > int64_t(2 * lanes) ? 4 * lanes
                     : rows > int64_t(lanes)   ? 2 * lanes
                                               : lanes;
  requested.rows = std::max(lanes, (requested.rows + lanes - 1) / lanes * lanes);
  if (packed) {
    // U's tiles are read four rows a vec4 (TM a power of two keeps the tiles the tuner tries);
    // a k step of a D panel, SG·TN floats, must never straddle a 64 KiB window.
    while (!power_of_two(requested.rows)) requested.rows += lanes;
    requested.columns = requested.columns <= 4                          ? 4
                        : requested.columns <= 8 || packed_columns <= 8 ? 8
                                                                        : 16;
    VKT_REQUIRE(power_of_two(lanes), op,
                "the packed kernel needs a power-of-two subgroup size, the device reports " +
                    std::to_string(lanes));
  }
  VKT_REQUIRE(requested.columns <= 16 && requested.rows <= 8 * lanes &&
                  requested.rows * requested.columns <= 512,
              op,
              "subgroup tile of " + std::to_string(requested.rows) + " rows x " +
                  std::to_string(requested.columns) +
                  " columns per lane is out of range (columns <= 16, rows <= 8 x subgroup size, "
                  "rows x columns <= 512)");
  return requested;
}

}  // namespace vkt::detail
