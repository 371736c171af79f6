// Launchers shared by batch_norm.cpp, group_norm.cpp and layer_norm.cpp. The normalization kernels
// are generic over how reduction rows, statistics rows and affine channels map onto a contiguous
// tensor; each op only describes its layout (NormRows, NormMap) and picks the kernels it needs.
#pragma once

#include <cstdint>
#include <string>

#include "ops/launch.hpp"
#include "vktrain/ops/norm.hpp"

namespace vkt::detail {

// Reduction rows: `rows` rows of `segments` runs of `seg_len` contiguous elements; run j of row r
// starts at element (j * rows + r) * seg_len (shaders/common/norm_welford.glsl).
//   batch norm (N, C, S): per channel, {C, N, S};   group norm (N, C, S): per (n, g), {N*G, 1,
//   C/G*S}; layer norm (R, D): per row, {R, 1, D}.
struct NormRows {
  uint32_t rows, segments, seg_len;
  uint64_t count() const { return uint64_t(segments) * seg_len; }
};

// Element i belongs to statistics row (i / stat_div) % stat_mod and affine channel
// (i / channel_div) % channel_mod.
struct NormMap {
  uint32_t stat_div, stat_mod, channel_div, channel_mod;
};

// How the reduction kernels split the work: each row in `chunks` chunks of `chunk_len` elements,
// one workgroup of `group` invocations per chunk of one row, or, with columns > 0 (rows of
// one-element runs, the columns of a (segments, rows) matrix), per chunk of `columns` adjacent rows
// so that neighbouring invocations read neighbouring addresses.
// window_runs > 0: the reductions read through uniform-buffer windows (CPU devices: see
// shaders/common/norm_windows.glsl) where their tensors allow; a chunk is then window_runs whole
// runs, and a window holds one run of window_rows adjacent rows.
struct NormChunks {
  uint32_t chunk_len, chunks, group, columns;
  uint32_t window_runs = 0, window_rows = 0;
  uint64_t workgroups(const NormRows& rows) const {
    uint64_t per_group = columns > 0 ? columns : 1;
    return (rows.rows + per_group - 1) / per_group * chunks;
  }
};
NormChunks norm_chunks(const Device& device, const NormRows& rows);

// Per-chunk Welford statistics: partial_mean and partial_m2 (rows * chunks) for a
// batch_norm_finalize or norm_finalize dispatch.
void norm_partial_stats(const Tensor& x, const NormRows& rows, const NormChunks& chunks,
                        const Tensor& partial_mean, const Tensor& partial_m2);
// mean and invstd = 1/sqrt(var + eps) (rows,) of every reduction row (biased variance).
void norm_stats(const Tensor& x, const NormRows& rows, float eps, const Tensor& mean,
                const Tensor& invstd);
// y = (x − mean[r])·invstd[r]·gamma[c] + beta[c]; gamma and beta may be undefined. relu: a ReLU
// fused after it, y = max(0, ·).
void norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                const Tensor& beta, const NormMap& map, const Tensor& y, bool relu = false);
// sum_dy[row] = Σ dy·g and sum_dy_xhat[row] = Σ dy·g·x̂ over each reduction row, g = weight[c] or 1
// when weight is undefined. stat_is_row: the statistics row of every element is its reduction row.
// relu: the forward fused a ReLU (norm_apply's relu); dy then counts only where its output, recomputed
// from x with relu_gamma and relu->beta, is > 0. Only with stat_is_row, rows that are channels
// (batch norm) and no weight.
void norm_backward_sums(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const NormRows& rows, const NormMap& map,
                        bool stat_is_row, const Tensor& sum_dy, const Tensor& sum_dy_xhat,
                        const FusedRelu* relu = nullptr, const Tensor& relu_gamma = {});

// The dx formulas of shaders/norm_backward_apply.comp.
enum class NormBackwardMode : uint32_t { group = 0, batch = 1, batch_eval = 2 };
void norm_backward_input(NormBackwardMode mode, const Tensor& dy, const Tensor& x,
                         const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                         const Tensor& sum_dy, const Tensor& sum_dy_xhat, const NormMap& map,
                         uint64_t count, const Tensor& dx, const FusedRelu* relu = nullptr);

// Argument checks: an optional float32 vector of n elements, shape (n,).
void require_vector(const Tensor& t, int64_t n, const char* op, const char* name);
// An optional float32 tensor of n elements (any shape, e.g. (N, G) or (R,)).
void require_numel(const Tensor& t, int64_t n, const char* op, const char* name,
                   const std::string& expected);
// Element counts index the kernels with 32-bit integers.
void require_indexable(const Tensor& t, const char* op);

// t when defined, else a new float32 tensor of `shape` (a scratch result the caller did not ask
// for).
Tensor or_scratch(const Tensor& t, const Device& device, Shape shape);

}  // namespace vkt::detail
