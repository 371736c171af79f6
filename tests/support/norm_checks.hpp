// Tolerances and the saved-mean check shared by the normalization cases (batch_norm, layer_norm,
// group_norm): each reduces m elements per statistic in float32 (Welford within an invocation,
// Chan's merge across them, then a tree), so the bounds below hold for all three.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "conformance.hpp"

namespace vkt::conformance::norm {

// ‖y − ref‖/‖ref‖: the statistics leave a few float32 ulps of relative error in y; 1e-5 is far
// above that and far below any formula or indexing mistake.
inline constexpr double kForwardTolerance = 1e-5;
// dx = invstd/m·(m·dy·γ − Σdy·γ − x̂·Σdy·γ·x̂) subtracts sums of m terms from m·dy·γ and loses a
// few more bits than the forward; dγ and dβ are float32 sums over m elements.
inline constexpr double kBackwardTolerance = 1e-5;
// x = 1000 + u: the float32 mean itself is only known to ~1e-4 absolute (ulp(1000) = 6e-5, a few
// ulps after the reduction), which shifts x̂ = (x − mean)·invstd by ~3e-4 for var ≈ 1/12. The
// variance stays accurate; E[x²] − E[x]² would lose it entirely (E[x²] ≈ 1e6 has ulp 0.06 > var).
inline constexpr double kOffsetTolerance = 2e-3;
// invstd at that offset: 40 seeds gave at most 2e-5 (the centred sums see the mean's rounding
// only to second order); the naive formula would be off by O(1).
inline constexpr double kOffsetVarianceTolerance = 2e-4;

// The saved mean as max |mean − ref| in units of the data's RMS: a relative check would be
// ill-conditioned, since the means of zero-centred data lie close to zero. A NaN or a length
// mismatch fails.
inline void check_mean(Context& ctx, const std::string& label, const std::string& text,
                       std::span<const float> gpu, const std::vector<double>& ref,
                       const std::vector<float>& x, double tolerance) {
  double rms = 0, worst = gpu.size() == ref.size() ? 0 : INFINITY;
  for (float v : x) rms += double(v) * v;
  rms = std::sqrt(rms / double(x.size()));
  for (size_t i = 0; i < gpu.size() && i < ref.size(); ++i)
    worst = std::isfinite(gpu[i]) ? std::max(worst, std::fabs(gpu[i] - ref[i]) / rms) : INFINITY;
  ctx.check_that(label, worst <= tolerance, worst, tolerance, text + ": max |mean − ref| / rms(x)");
}

}  // namespace vkt::conformance::norm
