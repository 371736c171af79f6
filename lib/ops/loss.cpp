// Losses and metrics: softmax cross-entropy (shaders/cross_entropy.comp, one workgroup per row),
// mse_loss and l1_loss (shaders/loss_pointwise.comp), argmax and count_correct
// (shaders/argmax.comp). Reductions over rows or elements go through mean_into / sum_into
// (lib/ops/reduce.cpp): a fixed order, no atomics.
#include <algorithm>
#include <bit>

#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

// Workgroup size of the row kernels: enough invocations to cover a row of C columns in one sweep,
// at least 32 (so small rows still fill a warp's worth of lanes) and at most 256; a power of two
// for the reduction tree.
uint32_t row_group(const Tensor& t, int64_t columns) {
  uint32_t limit =
      std::min<uint32_t>(256, std::bit_floor(t.device().info().max_workgroup_invocations));
  uint32_t wanted = std::bit_ceil(uint32_t(std::min<int64_t>(columns, 256)));
  return std::clamp<uint32_t>(wanted, std::min<uint32_t>(32, limit), limit);
}

// One workgroup per row; rows beyond 65535 fold into y (the kernels read the row from both).
std::array<uint32_t, 3> row_grid(int64_t rows) {
  return grid_1d(uint64_t(rows), 1);
}

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
  }
  return "?";
}

void require_reduction(Reduction reduction, const char* op) {
  VKT_REQUIRE(uint32_t(reduction) <= uint32_t(Reduction::sum), op,
              "unknown reduction " + std::to_string(uint32_t(reduction)));
}

// The checked (N, C) of logits and labels (N,) int32.
struct Rows {
  int64_t n, c;
};

Rows require_logits_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  require_dtype(logits, DType::f32, op, "logits");
  VKT_REQUIRE(logits.dim() == 2, op,
              "logits must be 2-D (N, C), got shape " + shape_str(logits.shape()));
  Rows rows{logits.size(0), logits.size(1)};
  VKT_REQUIRE(rows.n >= 1 && rows.c >= 1, op,
              "logits " + shape_str(logits.shape()) + " must have at least one row and one class");
  VKT_REQUIRE(logits.numel() <= int64_t(UINT32_MAX), op,
              "logits " + shape_str(logits.shape()) + " has more than 2^32 - 1 elements");
  if (labels.defined()) {
    require_dtype(labels, DType::i32, op, "labels");
    VKT_REQUIRE(labels.dim() == 1 && labels.size(0) == rows.n, op,
                "labels have shape " + shape_str(labels.shape()) + ", expected " +
                    shape_str({rows.n}) + " for logits " + shape_str(logits.shape()));
    require_same_device(logits, labels, op);
  }
  return rows;
}

// The loss's shape: one element when reduced, else `unreduced`.
void require_loss_shape(const char* op, const Tensor& loss, const char* name, Reduction reduction,
                        const Shape& unreduced) {
  require_dtype(loss, DType::f32, op, name);
  if (reduction == Reduction::none) {
    VKT_REQUIRE(loss.shape() == unreduced, op,
                std::string(name) + " has shape " + shape_str(loss.shape()) + ", expected " +
                    shape_str(unreduced) + " for reduction 'none'");
  } else {
    VKT_REQUIRE(loss.numel() == 1, op,
                std::string(name) + " has shape " + shape_str(loss.shape()) +
                    ", expected one element for reduction '" + reduction_name(reduction) + "'");
  }
}

// The GRAD specialization constant of the backward kernels: 0 no dloss (1), 1 one element, 2 per
// row or element.
uint32_t grad_mode(const Tensor& dloss, Reduction reduction) {
  if (!dloss.defined()) return 0;
  return reduction == Reduction::none ? 2 : 1;
}

void finish_reduction(const Tensor& terms, const Tensor& loss, Reduction reduction) {
  if (reduction == Reduction::mean)
    mean_into(terms, loss);
  else
    sum_into(terms, loss);
}

Shape reduced_shape(Reduction reduction, const Shape& unreduced) {
  return reduction == Reduction::none ? unreduced : Shape{1};
}

struct RowPush {
  uint32_t rows, classes;
  float smoothing, scale;
};

}  // namespace

// ---- cross-entropy ----

void cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                           const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  require_defined(labels, op, "labels");
  Rows rows = require_logits_labels(op, logits, labels);
  require_reduction(options.reduction, op);
  float eps = options.label_smoothing;
  VKT_REQUIRE(eps >= 0.0f && eps <= 1.0f, op,
              "label_smoothing " + std::to_string(eps) + " outside [0, 1]");
  require_loss_shape(op, loss, "loss", options.reduction, {rows.n});
  require_same_device(logits, loss, op);
  Tensor row_losses =
      options.reduction == Reduction::none ? loss : Tensor::empty(logits.device(), {rows.n});
  RowPush push{uint32_t(rows.n), uint32_t(rows.c), eps, 1.0f};
  scheduler_of(logits).dispatch({"cross_entropy", {row_group(logits, rows.c), false, 0}},
                                {in(logits), in(labels), in(logits), out(row_losses)}, push,
                                row_grid(rows.n));
  if (options.reduction != Reduction::none) finish_reduction(row_losses, loss, options.reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels,
                     const CrossEntropyOptions& options) {
  Rows rows = require_logits_labels("cross_entropy", logits, labels);
  Tensor loss = Tensor::empty(logits.device(), reduced_shape(options.reduction, {rows.n}));
  cross_entropy_forward(logits, labels, loss, options);
  return loss;
}

void cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Tensor& dlogits,
                            const CrossEntropyOptions& options, const Tensor& dloss) {
  const char* op = "cross_entropy_backward";
  require_defined(labels, op, "labels");
  Rows rows = require_logits_labels(op, logits, labels);
  require_reduction(options.reduction, op);
  float eps = options.label_smoothing;
  VKT_REQUIRE(eps >= 0.0f && eps <= 1.0f, op,
              "label_smoothing " + std::to_string(eps) + " outside [0, 1]");
  require_dtype(dlogits, DType::f32, op, "dlogits");
  require_same_shape(logits, dlogits, op, "logits", "dlogits");
  require_same_device(logits, dlogits, op);
  if (dloss.defined()) {
    require_loss_shape(op, dloss, "dloss", options.reduction, {rows.n});
    require_same_device(logits, dloss, op);
  }
  float scale = options.reduction == Reduction::mean ? 1.0f / float(rows.n) : 1.0f;
  RowPush push{uint32_t(rows.n), uint32_t(rows.c), eps, scale};
  Kernel kernel{"cross_entropy",
                {row_group(logits, rows.c), true, grad_mode(dloss, options.reduction)}};
  scheduler_of(logits).dispatch(
      kernel, {in(logits), in(labels), in(dloss.defined() ? dloss : logits), out(dlogits)}, push,
      row_grid(rows.n));
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                              const CrossEntropyOptions& options, const Tensor& dloss) {
  require_defined(logits, "cross_entropy_backward", "logits");
  Tensor dlogits = Tensor::empty(logits.device(), logits.shape());
  cross_entropy_backward(logits, labels, dlogits, options, dloss);
  return dlogits;
}

// ---- mse_loss, l1_loss ----

namespace {

enum class Pointwise : uint32_t { mse = 0, l1 = 1 };

struct PointwisePush {
  uint32_t n;
  float scale;
};

void require_pair(const char* op, const Tensor& input, const Tensor& target) {
  require_dtype(input, DType::f32, op, "input");
  require_dtype(target, DType::f32, op, "target");
  require_same_shape(input, target, op, "input", "target");
  require_same_device(input, target, op);
  VKT_REQUIRE(input.numel() <= int64_t(UINT32_MAX), op,
              "input " + shape_str(input.shape()) + " has more than 2^32 - 1 elements");
}

void pointwise_forward(Pointwise kind, const char* op, const Tensor& input, const Tensor& target,
                       const Tensor& loss, Reduction reduction) {
  require_pair(op, input, target);
  require_reduction(reduction, op);
  require_loss_shape(op, loss, "loss", reduction, input.shape());
  require_same_device(input, loss, op);
  if (input.numel() == 0) {
    // PyTorch: the mean of nothing is NaN, the sum 0; mean_into / sum_into of the empty input
    // agree.
    if (reduction != Reduction::none) finish_reduction(input, loss, reduction);
    return;
  }
  Tensor terms = reduction == Reduction::none ? loss : Tensor::empty(input.device(), input.shape());
  scheduler_of(input).dispatch({"loss_pointwise", {kElementwiseGroup, uint32_t(kind), false, 0}},
                               {in(input), in(target), in(input), out(terms)},
                               PointwisePush{uint32_t(input.numel()), 1.0f},
                               grid_1d(input.numel()));
  if (reduction != Reduction::none) finish_reduction(terms, loss, reduction);
}

void pointwise_backward(Pointwise kind, const char* op, const Tensor& input, const Tensor& target,
                        const Tensor& dinput, Reduction reduction, const Tensor& dloss) {
  require_pair(op, input, target);
  require_reduction(reduction, op);
  require_dtype(dinput, DType::f32, op, "dinput");
  require_same_shape(input, dinput, op, "input", "dinput");
  require_same_device(input, dinput, op);
  if (dloss.defined()) {
    require_loss_shape(op, dloss, "dloss", reduction, input.shape());
    require_same_device(input, dloss, op);
  }
  if (input.numel() == 0) return;
  float scale = reduction == Reduction::mean ? 1.0f / float(input.numel()) : 1.0f;
  Kernel kernel{"loss_pointwise",
                {kElementwiseGroup, uint32_t(kind), true, grad_mode(dloss, reduction)}};
  scheduler_of(input).dispatch(
      kernel, {in(input), in(target), in(dloss.defined() ? dloss : input), out(dinput)},
      PointwisePush{uint32_t(input.numel()), scale}, grid_1d(input.numel()));
}

Tensor pointwise_new(Pointwise kind, const char* op, const Tensor& input, const Tensor& target,
                     Reduction reduction) {
  require_defined(input, op, "input");
  Tensor loss = Tensor::empty(input.device(), reduced_shape(reduction, input.shape()));
  pointwise_forward(kind, op, input, target, loss, reduction);
  return loss;
}

Tensor pointwise_backward_new(Pointwise kind, const char* op, const Tensor& input,
                              const Tensor& target, Reduction reduction, const Tensor& dloss) {
  require_defined(input, op, "input");
  Tensor dinput = Tensor::empty(input.device(), input.shape());
  pointwise_backward(kind, op, input, target, dinput, reduction, dloss);
  return dinput;
}

}  // namespace

void mse_loss_forward(const Tensor& input, const Tensor& target, const Tensor& loss,
                      Reduction reduction) {
  pointwise_forward(Pointwise::mse, "mse_loss", input, target, loss, reduction);
}
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return pointwise_new(Pointwise::mse, "mse_loss", input, target, reduction);
}
void l1_loss_forward(const Tensor& input, const Tensor& target, const Tensor& loss,
                     Reduction reduction) {
  pointwise_forward(Pointwise::l1, "l1_loss", input, target, loss, reduction);
}
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return pointwise_new(Pointwise::l1, "l1_loss", input, target, reduction);
}

void mse_loss_backward(const Tensor& input, const Tensor& target, const Tensor& dinput,
                       Reduction reduction, const Tensor& dloss) {
  pointwise_backward(Pointwise::mse, "mse_loss_backward", input, target, dinput, reduction, dloss);
}
Tensor mse_loss_backward(const Tensor& input, const Tensor& target, Reduction reduction,
                         const Tensor& dloss) {
  return pointwise_backward_new(Pointwise::mse, "mse_loss_backward", input, target, reduction,
                                dloss);
}
void l1_loss_backward(const Tensor& input, const Tensor& target, const Tensor& dinput,
                      Reduction reduction, const Tensor& dloss) {
  pointwise_backward(Pointwise::l1, "l1_loss_backward", input, target, dinput, reduction, dloss);
}
Tensor l1_loss_backward(const Tensor& input, const Tensor& target, Reduction reduction,
                        const Tensor& dloss) {
  return pointwise_backward_new(Pointwise::l1, "l1_loss_backward", input, target, reduction, dloss);
}

// ---- argmax, count_correct ----

namespace {
struct ArgmaxPush {
  uint32_t rows, classes;
};
}  // namespace

void argmax_into(const Tensor& logits, const Tensor& indices) {
  const char* op = "argmax";
  Rows rows = require_logits_labels(op, logits, Tensor{});
  require_dtype(indices, DType::i32, op, "indices");
  VKT_REQUIRE(indices.dim() == 1 && indices.size(0) == rows.n, op,
              "indices have shape " + shape_str(indices.shape()) + ", expected " +
                  shape_str({rows.n}) + " for logits " + shape_str(logits.shape()));
  require_same_device(logits, indices, op);
  scheduler_of(logits).dispatch({"argmax", {row_group(logits, rows.c), 0}},
                                {in(logits), in(logits), out(indices)},
                                ArgmaxPush{uint32_t(rows.n), uint32_t(rows.c)}, row_grid(rows.n));
}

Tensor argmax(const Tensor& logits) {
  Rows rows = require_logits_labels("argmax", logits, Tensor{});
  Tensor indices = Tensor::empty(logits.device(), {rows.n}, DType::i32);
  argmax_into(logits, indices);
  return indices;
}

void count_correct_into(const Tensor& logits, const Tensor& labels, const Tensor& count) {
  const char* op = "count_correct";
  require_defined(labels, op, "labels");
  Rows rows = require_logits_labels(op, logits, labels);
  require_dtype(count, DType::f32, op, "count");
  VKT_REQUIRE(count.numel() == 1, op,
              "count must have one element, got shape " + shape_str(count.shape()));
  require_same_device(logits, count, op);
  // 1.0 per correct row, then a sum: float32 adds integers exactly below 2^24.
  Tensor correct = Tensor::empty(logits.device(), {rows.n});
  scheduler_of(logits).dispatch({"argmax", {row_group(logits, rows.c), 1}},
                                {in(logits), in(labels), out(correct)},
                                ArgmaxPush{uint32_t(rows.n), uint32_t(rows.c)}, row_grid(rows.n));
  sum_into(correct, count);
}

Tensor count_correct(const Tensor& logits, const Tensor& labels) {
  require_defined(logits, "count_correct", "logits");
  Tensor count = Tensor::empty(logits.device(), {1});
  count_correct_into(logits, labels, count);
  return count;
}

}  // namespace vkt
