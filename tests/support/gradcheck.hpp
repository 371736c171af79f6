// Finite-difference checks of float64 reference gradients.
//
// For an op y = f(x), the reference backward gives dx = J_fᵀ·dy. With the scalar L(x) = Σ f(x)⊙dy,
// dL/dx = dx, so central differences of L (in float64) check the reference backward, element by
// element. The GPU backward is then checked against the verified reference with Context::check.
#pragma once

#include <cmath>
#include <functional>
#include <span>
#include <vector>

#include "conformance.hpp"

namespace vkt::conformance {

// L(x) = Σ_i forward(x)_i · dy_i.
inline double weighted_sum(const std::vector<double>& y, const std::vector<double>& dy) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
  return s;
}

// Records a check that `analytic` (the reference gradient of `loss` at x) matches central
// differences with step h: ‖numeric − analytic‖ / ‖analytic‖ ≤ tolerance (default 1e-6 in float64).
// `loss` takes x by value, so it may not modify the caller's copy.
inline void check_gradient(Context& ctx, const std::string& label,
                           const std::function<double(const std::vector<double>&)>& loss,
                           std::vector<double> x, std::span<const double> analytic,
                           double tolerance = 1e-6, double h = 1e-5) {
  std::vector<double> numeric(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double saved = x[i];
    x[i] = saved + h;
    double up = loss(x);
    x[i] = saved - h;
    double down = loss(x);
    x[i] = saved;
    numeric[i] = (up - down) / (2 * h);
  }
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff2 += (numeric[i] - analytic[i]) * (numeric[i] - analytic[i]);
    ref2 += analytic[i] * analytic[i];
  }
  double error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  ctx.check_that("gradcheck_" + label, std::isfinite(error) && error <= tolerance, error, tolerance,
                 "reference backward vs central differences (float64)");
}

}  // namespace vkt::conformance
