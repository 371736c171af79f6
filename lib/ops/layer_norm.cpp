// Layer norm (torch.nn.LayerNorm): statistics per row over the last D = numel(normalized_shape)
// elements, x viewed as (R, D); affine parameters per position in the row.
#include "ops/norm_kernels.hpp"

namespace vkt {

using namespace detail;

namespace {

constexpr const char* kOp = "layer_norm";

struct RowShape {
  int64_t rows, d;
  NormRows reduction() const { return {uint32_t(rows), 1, uint32_t(d)}; }
  // Statistics row i / D, affine position i % D.
  NormMap map() const { return {uint32_t(d), uint32_t(rows), 1, uint32_t(d)}; }
};

RowShape row_shape(const Tensor& x, const Shape& normalized_shape, const char* name) {
  require_dtype(x, DType::f32, kOp, name);
  require_indexable(x, kOp);
  size_t k = normalized_shape.size();
  bool trailing = k >= 1 && size_t(x.dim()) >= k &&
                  Shape(x.shape().end() - int64_t(k), x.shape().end()) == normalized_shape;
  VKT_REQUIRE(trailing, kOp,
              "normalized_shape " + shape_str(normalized_shape) +
                  " must be non-empty and equal the trailing dimensions of " + name + " " +
                  shape_str(x.shape()));
  int64_t d = shape_numel(normalized_shape);
  return {d == 0 ? 0 : x.numel() / d, d};
}

// gamma and beta: normalized_shape, or flattened (D,).
void require_affine(const Tensor& t, const Shape& normalized_shape, const char* name) {
  if (!t.defined()) return;
  require_dtype(t, DType::f32, kOp, name);
  int64_t d = shape_numel(normalized_shape);
  VKT_REQUIRE(t.shape() == normalized_shape || t.shape() == Shape{d}, kOp,
              std::string(name) + " has shape " + shape_str(t.shape()) + ", expected " +
                  shape_str(normalized_shape) + " (normalized_shape)");
}

void require_device(const Tensor& reference, std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.defined()) require_same_device(reference, t, kOp);
}

std::string rows_text(int64_t rows) {
  return "(" + std::to_string(rows) + ",)";
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Shape& normalized_shape, const Tensor& gamma,
                        const Tensor& beta, const Tensor& save_mean, const Tensor& save_invstd,
                        const Tensor& y, float eps) {
  RowShape shape = row_shape(x, normalized_shape, "x");
  VKT_REQUIRE(eps >= 0.0f, kOp, "eps must be >= 0, got " + std::to_string(eps));
  require_dtype(y, DType::f32, kOp, "y");
  require_same_shape(x, y, kOp, "x", "y");
  require_affine(gamma, normalized_shape, "gamma");
  require_affine(beta, normalized_shape, "beta");
  require_numel(save_mean, shape.rows, kOp, "save_mean", rows_text(shape.rows));
  require_numel(save_invstd, shape.rows, kOp, "save_invstd", rows_text(shape.rows));
  require_device(x, {y, gamma, beta, save_mean, save_invstd});
  if (x.numel() == 0) return;
  Tensor mean = or_scratch(save_mean, x.device(), {shape.rows});
  Tensor invstd = or_scratch(save_invstd, x.device(), {shape.rows});
  norm_stats(x, shape.reduction(), eps, mean, invstd);
  norm_apply(x, mean, invstd, gamma, beta, shape.map(), y);
}

NormOutput layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& gamma,
                      const Tensor& beta, float eps) {
  RowShape shape = row_shape(x, normalized_shape, "x");
  NormOutput result{Tensor::empty(x.device(), x.shape()), Tensor::empty(x.device(), {shape.rows}),
                    Tensor::empty(x.device(), {shape.rows})};
  layer_norm_forward(x, normalized_shape, gamma, beta, result.save_mean, result.save_invstd,
                     result.y, eps);
  return result;
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape,
                         const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd,
                         const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  RowShape shape = row_shape(x, normalized_shape, "x");
  require_dtype(dy, DType::f32, kOp, "dy");
  require_same_shape(dy, x, kOp, "dy", "x");
  require_affine(gamma, normalized_shape, "gamma");
  require_defined(save_mean, kOp, "save_mean");
  require_defined(save_invstd, kOp, "save_invstd");
  require_numel(save_mean, shape.rows, kOp, "save_mean", rows_text(shape.rows));
  require_numel(save_invstd, shape.rows, kOp, "save_invstd", rows_text(shape.rows));
  if (dx.defined()) {
    require_dtype(dx, DType::f32, kOp, "dx");
    require_same_shape(dx, x, kOp, "dx", "x");
  }
  require_affine(dgamma, normalized_shape, "dgamma");
  require_affine(dbeta, normalized_shape, "dbeta");
  require_device(x, {dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta});
  if (shape.d == 0) return;
  if (x.numel() == 0) {  // no rows: the parameter gradients are sums over nothing
    if (dgamma.defined()) dgamma.fill(0.0f);
    if (dbeta.defined()) dbeta.fill(0.0f);
    return;
  }
  Device device = x.device();
  if (dx.defined()) {
    // Per row: Σdy·γ and Σdy·γ·x̂.
    Tensor row_sum = Tensor::empty(device, {shape.rows});
    Tensor row_sum_xhat = Tensor::empty(device, {shape.rows});
    norm_backward_sums(dy, x, save_mean, save_invstd, gamma, shape.reduction(), shape.map(), true,
                       row_sum, row_sum_xhat);
    norm_backward_input(NormBackwardMode::group, dy, x, save_mean, save_invstd, gamma, row_sum,
                        row_sum_xhat, shape.map(), uint64_t(shape.d), dx);
  }
  if (dgamma.defined() || dbeta.defined()) {
    // Per position d, over the rows: column d is R runs of one element.
    NormRows columns{uint32_t(shape.d), uint32_t(shape.rows), 1};
    norm_backward_sums(dy, x, save_mean, save_invstd, Tensor{}, columns, shape.map(), false,
                       or_scratch(dbeta, device, {shape.d}), or_scratch(dgamma, device, {shape.d}));
  }
}

NormGradients layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape,
                                  const Tensor& gamma, const Tensor& save_mean,
                                  const Tensor& save_invstd) {
  require_defined(x, kOp, "x");
  NormGradients grads{Tensor::empty(x.device(), x.shape()), {}, {}};
  if (gamma.defined()) {
    grads.dgamma = Tensor::empty(x.device(), gamma.shape());
    grads.dbeta = Tensor::empty(x.device(), gamma.shape());
  }
  layer_norm_backward(dy, x, normalized_shape, gamma, save_mean, save_invstd, grads.dx,
                      grads.dgamma, grads.dbeta);
  return grads;
}

}  // namespace vkt
