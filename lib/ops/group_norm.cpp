// Group norm (torch.nn.GroupNorm) and instance norm (torch.nn.InstanceNorm1d/2d, group norm with
// one group per channel): statistics per (sample, group) of x (N, C, *), affine parameters per
// channel.
#include "ops/norm_kernels.hpp"

namespace vkt {

using namespace detail;

namespace {

// x (N, C, S) in G groups of C/G channels; a group of one sample is M = C/G·S contiguous elements.
struct GroupShape {
  int64_t n, c, s, groups;
  int64_t group_size() const { return c / groups * s; }
  NormRows reduction() const { return {uint32_t(n * groups), 1, uint32_t(group_size())}; }
  // Statistics row i / M (= n·G + g), channel (i / S) % C.
  NormMap map() const {
    return {uint32_t(group_size()), uint32_t(n * groups), uint32_t(s), uint32_t(c)};
  }
  // Channel c over the batch: N runs of S elements (for dgamma, dbeta).
  NormRows channels() const { return {uint32_t(c), uint32_t(n), uint32_t(s)}; }
};

GroupShape group_shape(const char* op, const Tensor& x, int64_t groups, const char* name) {
  require_dtype(x, DType::f32, op, name);
  require_indexable(x, op);
  VKT_REQUIRE(x.dim() >= 2, op,
              std::string(name) + " has shape " + shape_str(x.shape()) + ", expected (N, C, *)");
  int64_t n = x.size(0), c = x.size(1);
  VKT_REQUIRE(groups > 0 && c % groups == 0, op,
              "Expected number of channels in input to be divisible by num_groups, but got " +
                  std::string(name) + " of shape " + shape_str(x.shape()) +
                  " and num_groups=" + std::to_string(groups));
  return {n, c, n * c == 0 ? 0 : x.numel() / (n * c), groups};
}

void require_device(const char* op, const Tensor& reference,
                    std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.defined()) require_same_device(reference, t, op);
}

std::string stats_text(const GroupShape& shape) {
  return "(" + std::to_string(shape.n) + ", " + std::to_string(shape.groups) + ")";
}

void forward(const char* op, const Tensor& x, int64_t groups, const Tensor& gamma,
             const Tensor& beta, const Tensor& save_mean, const Tensor& save_invstd,
             const Tensor& y, float eps) {
  GroupShape shape = group_shape(op, x, groups, "x");
  VKT_REQUIRE(eps >= 0.0f, op, "eps must be >= 0, got " + std::to_string(eps));
  require_dtype(y, DType::f32, op, "y");
  require_same_shape(x, y, op, "x", "y");
  require_vector(gamma, shape.c, op, "gamma");
  require_vector(beta, shape.c, op, "beta");
  require_numel(save_mean, shape.n * groups, op, "save_mean", stats_text(shape));
  require_numel(save_invstd, shape.n * groups, op, "save_invstd", stats_text(shape));
  require_device(op, x, {y, gamma, beta, save_mean, save_invstd});
  if (x.numel() == 0) return;
  Tensor mean = or_scratch(save_mean, x.device(), {shape.n, groups});
  Tensor invstd = or_scratch(save_invstd, x.device(), {shape.n, groups});
  norm_stats(x, shape.reduction(), eps, mean, invstd);
  norm_apply(x, mean, invstd, gamma, beta, shape.map(), y);
}

void backward(const char* op, const Tensor& dy, const Tensor& x, int64_t groups,
              const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd,
              const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  GroupShape shape = group_shape(op, x, groups, "x");
  require_dtype(dy, DType::f32, op, "dy");
  require_same_shape(dy, x, op, "dy", "x");
  require_vector(gamma, shape.c, op, "gamma");
  require_defined(save_mean, op, "save_mean");
  require_defined(save_invstd, op, "save_invstd");
  require_numel(save_mean, shape.n * groups, op, "save_mean", stats_text(shape));
  require_numel(save_invstd, shape.n * groups, op, "save_invstd", stats_text(shape));
  if (dx.defined()) {
    require_dtype(dx, DType::f32, op, "dx");
    require_same_shape(dx, x, op, "dx", "x");
  }
  require_vector(dgamma, shape.c, op, "dgamma");
  require_vector(dbeta, shape.c, op, "dbeta");
  require_device(op, x, {dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta});
  if (shape.c == 0) return;
  if (x.numel() == 0) {  // empty batch or spatial size: the parameter gradients sum over nothing
    if (dgamma.defined()) dgamma.fill(0.0f);
    if (dbeta.defined()) dbeta.fill(0.0f);
    return;
  }
  Device device = x.device();
  if (dx.defined()) {
    // Per (n, g): Σdy·γ and Σdy·γ·x̂ over the group.
    Tensor group_sum = Tensor::empty(device, {shape.n * groups});
    Tensor group_sum_xhat = Tensor::empty(device, {shape.n * groups});
    norm_backward_sums(dy, x, save_mean, save_invstd, gamma, shape.reduction(), shape.map(), true,
                       group_sum, group_sum_xhat);
    norm_backward_input(NormBackwardMode::group, dy, x, save_mean, save_invstd, gamma, group_sum,
                        group_sum_xhat, shape.map(), uint64_t(shape.group_size()), dx);
  }
  if (dgamma.defined() || dbeta.defined())
    norm_backward_sums(dy, x, save_mean, save_invstd, Tensor{}, shape.channels(), shape.map(),
                       false, or_scratch(dbeta, device, {shape.c}),
                       or_scratch(dgamma, device, {shape.c}));
}

NormGradients allocate_gradients(const Tensor& x, const Tensor& gamma) {
  NormGradients grads{Tensor::empty(x.device(), x.shape()), {}, {}};
  if (gamma.defined()) {
    grads.dgamma = Tensor::empty(x.device(), gamma.shape());
    grads.dbeta = Tensor::empty(x.device(), gamma.shape());
  }
  return grads;
}

// InstanceNorm needs spatial elements to normalize over, as PyTorch checks.
int64_t instance_groups(const Tensor& x) {
  const char* op = "instance_norm";
  require_dtype(x, DType::f32, op, "x");
  VKT_REQUIRE(x.dim() >= 3, op,
              "x has shape " + shape_str(x.shape()) + ", expected (N, C, L) or (N, C, H, W)");
  int64_t spatial = 1;
  for (int64_t d = 2; d < x.dim(); ++d) spatial *= x.size(d);
  VKT_REQUIRE(
      spatial > 1, op,
      "Expected more than 1 spatial element when training, got input size " + shape_str(x.shape()));
  return x.size(1);
}

}  // namespace

void group_norm_forward(const Tensor& x, int64_t num_groups, const Tensor& gamma,
                        const Tensor& beta, const Tensor& save_mean, const Tensor& save_invstd,
                        const Tensor& y, float eps) {
  forward("group_norm", x, num_groups, gamma, beta, save_mean, save_invstd, y, eps);
}

NormOutput group_norm(const Tensor& x, int64_t num_groups, const Tensor& gamma, const Tensor& beta,
                      float eps) {
  GroupShape shape = group_shape("group_norm", x, num_groups, "x");
  NormOutput result{Tensor::empty(x.device(), x.shape()),
                    Tensor::empty(x.device(), {shape.n, num_groups}),
                    Tensor::empty(x.device(), {shape.n, num_groups})};
  forward("group_norm", x, num_groups, gamma, beta, result.save_mean, result.save_invstd, result.y,
          eps);
  return result;
}

void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t num_groups, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                         const Tensor& dgamma, const Tensor& dbeta) {
  backward("group_norm", dy, x, num_groups, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

NormGradients group_norm_backward(const Tensor& dy, const Tensor& x, int64_t num_groups,
                                  const Tensor& gamma, const Tensor& save_mean,
                                  const Tensor& save_invstd) {
  require_defined(x, "group_norm", "x");
  NormGradients grads = allocate_gradients(x, gamma);
  backward("group_norm", dy, x, num_groups, gamma, save_mean, save_invstd, grads.dx, grads.dgamma,
           grads.dbeta);
  return grads;
}

void instance_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& y,
                           float eps) {
  forward("instance_norm", x, instance_groups(x), gamma, beta, save_mean, save_invstd, y, eps);
}

NormOutput instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  int64_t groups = instance_groups(x);
  NormOutput result{Tensor::empty(x.device(), x.shape()),
                    Tensor::empty(x.device(), {x.size(0), x.size(1)}),
                    Tensor::empty(x.device(), {x.size(0), x.size(1)})};
  forward("instance_norm", x, groups, gamma, beta, result.save_mean, result.save_invstd, result.y,
          eps);
  return result;
}

void instance_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                            const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                            const Tensor& dgamma, const Tensor& dbeta) {
  backward("instance_norm", dy, x, instance_groups(x), gamma, save_mean, save_invstd, dx, dgamma,
           dbeta);
}

NormGradients instance_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                     const Tensor& save_mean, const Tensor& save_invstd) {
  int64_t groups = instance_groups(x);
  NormGradients grads = allocate_gradients(x, gamma);
  backward("instance_norm", dy, x, groups, gamma, save_mean, save_invstd, grads.dx, grads.dgamma,
           grads.dbeta);
  return grads;
}

}  // namespace vkt
