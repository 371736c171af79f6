// Tolerances, the saved-mean check and the float64 row references shared by the normalization
// cases (batch_norm, layer_norm, group_norm): each reduces m elements per statistic in float32
// (Welford within an invocation, Chan's merge across them, then a tree), so the bounds below hold
// for all three.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// Rows of m contiguous elements, each normalized by its own statistics: layer_norm's rows, and
// group_norm's groups (one group of one sample is contiguous). affine(row, j) is the index into
// γ and β of element j of a row; empty γ or β means none.
struct RowRef {
  std::vector<double> y, mean, invstd;  // mean, invstd: one per row
};

template <class Affine>
RowRef rows_forward_ref(const std::vector<double>& x, int64_t m, const std::vector<double>& gamma,
                        const std::vector<double>& beta, double eps, Affine affine) {
  int64_t rows = int64_t(x.size()) / m;
  RowRef r{std::vector<double>(x.size()), std::vector<double>(size_t(rows)),
           std::vector<double>(size_t(rows))};
  for (int64_t row = 0; row < rows; ++row) {
    const double* block = x.data() + row * m;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < m; ++j) mean += block[j];
    mean /= double(m);
    for (int64_t j = 0; j < m; ++j) var += (block[j] - mean) * (block[j] - mean);
    double invstd = 1.0 / std::sqrt(var / double(m) + eps);
    r.mean[size_t(row)] = mean;
    r.invstd[size_t(row)] = invstd;
    for (int64_t j = 0; j < m; ++j) {
      size_t a = size_t(affine(row, j));
      double v = (block[j] - mean) * invstd;
      if (!gamma.empty()) v *= gamma[a];
      if (!beta.empty()) v += beta[a];
      r.y[size_t(row * m + j)] = v;
    }
  }
  return r;
}

struct RowGrads {
  std::vector<double> dx, dgamma, dbeta;  // dgamma, dbeta: `affine_size` each
};

// dx = invstd·(dy·γ − (Σdy·γ + x̂·Σdy·γ·x̂)/m) per row; dγ = Σdy·x̂ and dβ = Σdy per affine index.
template <class Affine>
RowGrads rows_backward_ref(const std::vector<double>& dy, const std::vector<double>& x, int64_t m,
                           const std::vector<double>& gamma, int64_t affine_size,
                           const RowRef& fwd, Affine affine) {
  int64_t rows = int64_t(x.size()) / m;
  RowGrads g{std::vector<double>(x.size()), std::vector<double>(size_t(affine_size)),
             std::vector<double>(size_t(affine_size))};
  for (int64_t row = 0; row < rows; ++row) {
    double mean = fwd.mean[size_t(row)], invstd = fwd.invstd[size_t(row)];
    double a = 0, b = 0;
    for (int64_t j = 0; j < m; ++j) {
      size_t k = size_t(row * m + j), c = size_t(affine(row, j));
      double xhat = (x[k] - mean) * invstd;
      double w = gamma.empty() ? 1.0 : gamma[c];
      a += dy[k] * w;
      b += dy[k] * w * xhat;
      g.dgamma[c] += dy[k] * xhat;
      g.dbeta[c] += dy[k];
    }
    for (int64_t j = 0; j < m; ++j) {
      size_t k = size_t(row * m + j);
      double xhat = (x[k] - mean) * invstd;
      double w = gamma.empty() ? 1.0 : gamma[size_t(affine(row, j))];
      g.dx[k] = invstd * (dy[k] * w - (a + xhat * b) / double(m));
    }
  }
  return g;
}

}  // namespace vkt::conformance::norm
