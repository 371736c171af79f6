#include "ops/kernel_choice.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/check.hpp"

namespace vkt::detail {

namespace {

// tiled | subgroup | subgroup:TM,TN
KernelChoice parse(const char* op, const char* env_var, const std::string& value) {
  if (value == "tiled") return {KernelChoice::Kind::tiled};
  unsigned rows = 0, columns = 0;
  char end = 0;
  bool valid = value == "subgroup" ||
               std::sscanf(value.c_str(), "subgroup:%u,%u%c", &rows, &columns, &end) == 2;
  VKT_REQUIRE(valid, op,
              std::string(env_var) + "='" + value +
                  "': expected tiled, subgroup or subgroup:TM,TN");
  return {KernelChoice::Kind::subgroup, rows, columns};
}

}  // namespace

KernelChoice resolve_kernel(const char* op, const char* env_var, const DeviceInfo& info,
                            KernelChoice requested, int64_t rows, int64_t columns) {
  if (requested.kind == KernelChoice::Kind::automatic) {
    const char* text = std::getenv(env_var);
    if (text && *text) requested = parse(op, env_var, text);
  }
  const uint32_t lanes = info.subgroup_size;
  bool subgroup_possible = lanes >= 4 && lanes <= 128 && lanes <= info.max_workgroup_invocations;
  if (requested.kind == KernelChoice::Kind::automatic)
    requested.kind = info.type == "cpu" && subgroup_possible ? KernelChoice::Kind::subgroup
                                                             : KernelChoice::Kind::tiled;
  if (requested.kind == KernelChoice::Kind::tiled) return requested;
  VKT_REQUIRE(subgroup_possible, op,
              "the subgroup kernel needs a subgroup size in [4, 128], the device reports " +
                  std::to_string(lanes));
  if (requested.columns == 0) {
    int64_t per_lane = (columns + lanes - 1) / lanes;
    requested.columns = per_lane >= 8 ? 8 : per_lane >= 4 ? 4 : per_lane >= 2 ? 2 : 1;
  }
  if (requested.rows == 0) requested.rows = rows > int64_t(lanes) ? 2 * lanes : lanes;
  requested.rows = std::max(lanes, (requested.rows + lanes - 1) / lanes * lanes);
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
