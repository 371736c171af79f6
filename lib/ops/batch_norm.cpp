// Batch norm (torch.nn.BatchNorm1d/2d): statistics per channel of x (N, C, *), running statistics
// updated on the device, backward, and the eval-mode fold into a preceding conv/linear layer.
#include <cmath>

#include "ops/norm_kernels.hpp"

namespace vkt {

using namespace detail;

namespace {

constexpr const char* kOp = "batch_norm";
// Up to this many chunks a channel, batch_norm_finalize merges them one invocation per channel.
constexpr uint32_t kFinalizePerLaneChunks = 4;

// x (N, C, S) with S the product of the trailing dimensions (1 for (N, C)).
struct BatchShape {
  int64_t n, c, s;
  uint64_t per_channel() const { return uint64_t(n) * uint64_t(s); }
  // Reduction rows: channel c is N runs of S elements, run n at (n·C + c)·S.
  NormRows rows() const { return {uint32_t(c), uint32_t(n), uint32_t(s)}; }
  NormMap map() const { return {uint32_t(s), uint32_t(c), uint32_t(s), uint32_t(c)}; }
};

BatchShape batch_shape(const Tensor& x, const char* name) {
  require_dtype(x, DType::f32, kOp, name);
  VKT_REQUIRE(x.dim() >= 2, kOp,
              std::string(name) + " has shape " + shape_str(x.shape()) +
                  ", expected (N, C), (N, C, L) or (N, C, H, W)");
  require_indexable(x, kOp);
  int64_t n = x.size(0), c = x.size(1);
  return {n, c, n * c == 0 ? 0 : x.numel() / (n * c)};
}

void require_device(const Tensor& reference, std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.defined()) require_same_device(reference, t, kOp);
}

}  // namespace

bool batch_norm_uses_batch_stats(const BatchNormOptions& options, const Tensor& running_mean) {
  return options.training || !running_mean.defined();
}

void batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        const Tensor& running_mean, const Tensor& running_var,
                        const Tensor& num_batches_tracked, const Tensor& save_mean,
                        const Tensor& save_invstd, const Tensor& y,
                        const BatchNormOptions& options) {
  BatchShape shape = batch_shape(x, "x");
  VKT_REQUIRE(options.eps >= 0.0f && options.momentum.value_or(0.0f) >= 0.0f &&
                  options.momentum.value_or(0.0f) <= 1.0f,
              kOp, "eps must be >= 0 and momentum in [0, 1] or None, got eps " +
                       std::to_string(options.eps) + ", momentum " +
                       (options.momentum ? std::to_string(*options.momentum) : "None"));
  require_dtype(y, DType::f32, kOp, "y");
  require_same_shape(x, y, kOp, "x", "y");
  require_vector(gamma, shape.c, kOp, "gamma");
  require_vector(beta, shape.c, kOp, "beta");
  require_vector(running_mean, shape.c, kOp, "running_mean");
  require_vector(running_var, shape.c, kOp, "running_var");
  require_vector(save_mean, shape.c, kOp, "save_mean");
  require_vector(save_invstd, shape.c, kOp, "save_invstd");
  require_device(
      x, {y, gamma, beta, running_mean, running_var, num_batches_tracked, save_mean, save_invstd});
  VKT_REQUIRE(running_mean.defined() == running_var.defined(), kOp,
              "running_mean and running_var must both be given or both be undefined");
  if (num_batches_tracked.defined()) {
    require_dtype(num_batches_tracked, DType::u32, kOp, "num_batches_tracked");
    VKT_REQUIRE(num_batches_tracked.numel() == 1, kOp,
                "num_batches_tracked has shape " + shape_str(num_batches_tracked.shape()) +
                    ", expected one element");
    VKT_REQUIRE(running_mean.defined(), kOp,
                "num_batches_tracked given without running_mean and running_var");
  }
  bool batch_stats = batch_norm_uses_batch_stats(options, running_mean);
  bool update_running = options.training && running_mean.defined();
  VKT_REQUIRE(!batch_stats || shape.per_channel() != 1, kOp,
              "Expected more than 1 value per channel when training, got input size " +
                  shape_str(x.shape()));
  VKT_REQUIRE(!update_running || options.momentum || num_batches_tracked.defined(), kOp,
              "momentum None (cumulative average) needs num_batches_tracked");
  if (x.numel() == 0) return;  // an empty batch changes nothing, the running statistics included

  Device device = x.device();
  Tensor invstd = or_scratch(save_invstd, device, {shape.c});
  Tensor mean = running_mean;
  if (update_running) {
    mean = or_scratch(save_mean, device, {shape.c});
    NormRows rows = shape.rows();
    NormChunks chunks = norm_chunks(device, rows);
    Tensor partial_mean = Tensor::empty(device, {shape.c * chunks.chunks});
    Tensor partial_m2 = Tensor::empty(device, {shape.c * chunks.chunks});
    norm_partial_stats(x, rows, chunks, partial_mean, partial_m2);
    bool cumulative = !options.momentum.has_value();
    struct {
      uint32_t channels, count, chunk_len, chunks;
      float eps, momentum;
    } push{uint32_t(shape.c), uint32_t(rows.count()),         chunks.chunk_len, chunks.chunks,
           options.eps,       options.momentum.value_or(0.0f)};
    // Without the counter (momentum given), a read-only stand-in fills its binding.
    Tensor counter = num_batches_tracked.defined() ? num_batches_tracked : partial_mean;
    // A few chunks a channel: one invocation per channel. Else one workgroup per channel, as wide
    // as the stats passes (one subgroup on CPU devices, where every barrier of the reduction is a
    // coroutine switch; 64 on GPUs).
    bool per_lane = chunks.chunks <= kFinalizePerLaneChunks;
    uint32_t group = !per_lane && cpu_device(device) ? chunks.group : 64u;
    scheduler_of(x).dispatch(Kernel{"batch_norm_finalize", {group, cumulative, per_lane}},
                             {in(partial_mean), in(partial_m2), out(mean), out(invstd),
                              inout(running_mean), inout(running_var), in(counter)},
                             push, grid_1d(uint64_t(shape.c), per_lane ? group : 1));
    // After the finalize read it: the cumulative factor above is 1/(count after this increment).
    if (num_batches_tracked.defined()) increment(num_batches_tracked);
  } else if (batch_stats) {
    mean = or_scratch(save_mean, device, {shape.c});
    norm_stats(x, shape.rows(), options.eps, mean, invstd);
  } else {
    struct {
      uint32_t n;
      float eps;
    } push{uint32_t(shape.c), options.eps};
    scheduler_of(x).dispatch(Kernel{"batch_norm_invstd", {kElementwiseGroup}},
                             {in(running_var), out(invstd)}, push, grid_1d(uint64_t(shape.c)));
    if (save_mean.defined()) copy(running_mean, save_mean);
  }
  norm_apply(x, mean, invstd, gamma, beta, shape.map(), y, options.relu);
}

NormOutput batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& num_batches_tracked, const BatchNormOptions& options) {
  BatchShape shape = batch_shape(x, "x");
  NormOutput result{Tensor::empty(x.device(), x.shape()), Tensor::empty(x.device(), {shape.c}),
                    Tensor::empty(x.device(), {shape.c})};
  batch_norm_forward(x, gamma, beta, running_mean, running_var, num_batches_tracked,
                     result.save_mean, result.save_invstd, result.y, options);
  return result;
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dx,
                         const Tensor& dgamma, const Tensor& dbeta, bool batch_stats,
                         const std::optional<FusedRelu>& relu) {
  BatchShape shape = batch_shape(x, "x");
  require_dtype(dy, DType::f32, kOp, "dy");
  require_same_shape(dy, x, kOp, "dy", "x");
  const FusedRelu* fused = relu ? &*relu : nullptr;
  Tensor relu_beta = fused ? fused->beta : Tensor();
  require_vector(relu_beta, shape.c, kOp, "relu.beta");
  require_vector(gamma, shape.c, kOp, "gamma");
  require_defined(save_mean, kOp, "save_mean");
  require_defined(save_invstd, kOp, "save_invstd");
  require_vector(save_mean, shape.c, kOp, "save_mean");
  require_vector(save_invstd, shape.c, kOp, "save_invstd");
  if (dx.defined()) {
    require_dtype(dx, DType::f32, kOp, "dx");
    require_same_shape(dx, x, kOp, "dx", "x");
  }
  require_vector(dgamma, shape.c, kOp, "dgamma");
  require_vector(dbeta, shape.c, kOp, "dbeta");
  require_device(x, {dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, relu_beta});
  if (shape.c == 0) return;
  if (x.numel() == 0) {  // empty batch: the parameter gradients are sums over nothing
    if (dgamma.defined()) dgamma.fill(0.0f);
    if (dbeta.defined()) dbeta.fill(0.0f);
    return;
  }
  Device device = x.device();
  // Σdy (= dbeta) and Σdy·x̂ (= dgamma) per channel; the training dx needs both.
  Tensor sum_dy, sum_dy_xhat;
  if (dgamma.defined() || dbeta.defined() || (dx.defined() && batch_stats)) {
    sum_dy = or_scratch(dbeta, device, {shape.c});
    sum_dy_xhat = or_scratch(dgamma, device, {shape.c});
    norm_backward_sums(dy, x, save_mean, save_invstd, Tensor{}, shape.rows(), shape.map(), true,
                       sum_dy, sum_dy_xhat, fused, gamma);
  }
  if (dx.defined())
    norm_backward_input(batch_stats ? NormBackwardMode::batch : NormBackwardMode::batch_eval, dy, x,
                        save_mean, save_invstd, gamma, sum_dy, sum_dy_xhat, shape.map(),
                        shape.per_channel(), dx, fused);
}

NormGradients batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd,
                                  bool batch_stats, const std::optional<FusedRelu>& relu) {
  BatchShape shape = batch_shape(x, "x");
  NormGradients grads{Tensor::empty(x.device(), x.shape()), {}, {}};
  if (gamma.defined()) {
    grads.dgamma = Tensor::empty(x.device(), {shape.c});
    grads.dbeta = Tensor::empty(x.device(), {shape.c});
  }
  batch_norm_backward(dy, x, gamma, save_mean, save_invstd, grads.dx, grads.dgamma, grads.dbeta,
                      batch_stats, relu);
  return grads;
}

void batch_norm_fold_into(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                          const Tensor& running_var, float eps, const Tensor& scale,
                          const Tensor& shift) {
  const char* op = "batch_norm_fold";
  require_dtype(running_mean, DType::f32, op, "running_mean");
  VKT_REQUIRE(running_mean.dim() == 1, op,
              "running_mean has shape " + shape_str(running_mean.shape()) + ", expected (C,)");
  int64_t c = running_mean.size(0);
  require_defined(running_var, op, "running_var");
  require_defined(scale, op, "scale");
  require_defined(shift, op, "shift");
  for (auto [t, name] : {std::pair{gamma, "gamma"},
                         {beta, "beta"},
                         {running_var, "running_var"},
                         {scale, "scale"},
                         {shift, "shift"}}) {
    require_vector(t, c, op, name);
    if (t.defined()) require_same_device(running_mean, t, op);
  }
  if (c == 0) return;
  struct {
    uint32_t n;
    float eps;
  } push{uint32_t(c), eps};
  scheduler_of(running_mean)
      .dispatch(
          Kernel{"batch_norm_fold", {kElementwiseGroup, gamma.defined(), beta.defined()}},
          {in(gamma.defined() ? gamma : running_mean), in(beta.defined() ? beta : running_mean),
           in(running_mean), in(running_var), out(scale), out(shift)},
          push, grid_1d(uint64_t(c)));
}

BatchNormFold batch_norm_fold(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                              const Tensor& running_var, float eps) {
  require_defined(running_mean, "batch_norm_fold", "running_mean");
  BatchNormFold fold{Tensor::empty(running_mean.device(), running_mean.shape()),
                     Tensor::empty(running_mean.device(), running_mean.shape())};
  batch_norm_fold_into(gamma, beta, running_mean, running_var, eps, fold.scale, fold.shift);
  return fold;
}

void batch_norm_fold_weights_into(const Tensor& weight, const Tensor& bias,
                                  const BatchNormFold& fold, const Tensor& folded_weight,
                                  const Tensor& folded_bias) {
  const char* op = "batch_norm_fold_weights";
  require_dtype(weight, DType::f32, op, "weight");
  VKT_REQUIRE(weight.dim() >= 2, op,
              "weight has shape " + shape_str(weight.shape()) +
                  ", expected (C_out, ...) of a conv or linear layer");
  require_indexable(weight, op);
  int64_t c = weight.size(0);
  require_defined(fold.scale, op, "scale");
  require_defined(fold.shift, op, "shift");
  require_dtype(folded_weight, DType::f32, op, "folded_weight");
  require_same_shape(weight, folded_weight, op, "weight", "folded_weight");
  require_defined(folded_bias, op, "folded_bias");
  for (auto [t, name] : {std::pair{bias, "bias"},
                         {fold.scale, "scale"},
                         {fold.shift, "shift"},
                         {folded_bias, "folded_bias"}}) {
    require_vector(t, c, op, name);
    if (t.defined()) require_same_device(weight, t, op);
  }
  require_same_device(weight, folded_weight, op);
  if (c == 0) return;
  VKT_REQUIRE(weight.numel() > 0, op, "weight " + shape_str(weight.shape()) + " has no elements");
  struct {
    uint32_t n, per_channel, channels;
  } push{uint32_t(weight.numel()), uint32_t(weight.numel() / c), uint32_t(c)};
  scheduler_of(weight).dispatch(
      Kernel{"batch_norm_fold_weights", {kElementwiseGroup, bias.defined()}},
      {in(weight), in(bias.defined() ? bias : weight), in(fold.scale), in(fold.shift),
       out(folded_weight), out(folded_bias)},
      push, grid_1d(uint64_t(weight.numel())));
}

FoldedLayer batch_norm_fold_weights(const Tensor& weight, const Tensor& bias,
                                    const BatchNormFold& fold) {
  require_defined(weight, "batch_norm_fold_weights", "weight");
  VKT_REQUIRE(weight.dim() >= 2, "batch_norm_fold_weights",
              "weight has shape " + shape_str(weight.shape()) +
                  ", expected (C_out, ...) of a conv or linear layer");
  FoldedLayer layer{Tensor::empty(weight.device(), weight.shape()),
                    Tensor::empty(weight.device(), {weight.size(0)})};
  batch_norm_fold_weights_into(weight, bias, fold, layer.weight, layer.bias);
  return layer;
}

}  // namespace vkt
