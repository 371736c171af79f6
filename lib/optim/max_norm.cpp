// Max-norm constraint: each row of a weight rescaled to L2 norm ≤ c (torch.renorm(w, 2, 0, c)).
#include <bit>
#include <cmath>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using namespace detail;

void apply_max_norm(const Tensor& weight, double max_norm) {
  const char* op = "max_norm";
  vkt::detail::require_dtype(weight, DType::f32, op, "weight");
  VKT_REQUIRE(weight.dim() >= 1, op,
              "weight must have a dimension of units, got shape " + shape_str(weight.shape()));
  VKT_REQUIRE(max_norm >= 0, op, "invalid max_norm " + number(max_norm) + " (must be >= 0)");
  VKT_REQUIRE(weight.numel() <= int64_t(UINT32_MAX), op,
              "weight " + shape_str(weight.shape()) + " has more than 2^32 - 1 elements");
  if (weight.numel() == 0) return;
  // (rows, row_len): row i holds the incoming weights of unit i.
  uint32_t rows = uint32_t(weight.size(0));
  uint32_t row_len = uint32_t(weight.numel() / weight.size(0));
  // A power-of-two workgroup (the tree reduction needs one) sized to the row, 32 to 256.
  uint32_t group = std::clamp<uint32_t>(std::bit_ceil(row_len), 32, 256);
  struct {
    uint32_t rows, row_len;
    float max_norm;
  } push{rows, row_len, float(max_norm)};
  // One workgroup per row; past 65535 rows the grid folds into y (grid_1d with a group of 1).
  scheduler_of(weight).dispatch({"max_norm", {group}}, {inout(weight)}, push, grid_1d(rows, 1));
}

}  // namespace vkt::optim
