// cross_entropy: forward and backward against a float64 log-sum-exp reference, over class counts
// from 2 to over a thousand, batch sizes 1 to 65537, large logits, label smoothing, the three
// reductions, an upstream gradient, out-of-range labels, and argument errors.
#include <cmath>
#include <limits>

#include "conformance.hpp"
#include "gradcheck.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// ‖gpu − ref‖/‖ref‖. Each row loss is log Σexp(x − m) plus two shifted logits: a few float32
// roundings of terms that are all non-negative, so relative error stays near eps; the mean adds a
// tree of N roundings. Gradients are exp(x − m)/Σ − target: a few ulps per entry.
constexpr double kLossTolerance = 2e-6;
constexpr double kGradTolerance = 2e-6;

struct Reference {
  std::vector<double> row_loss;  // (N,)
  std::vector<double> grad;      // (N, C): softmax − target, unscaled
};

Reference reference(const std::vector<float>& logits, const std::vector<int32_t>& labels, int64_t n,
                    int64_t c, double eps) {
  Reference r{std::vector<double>(size_t(n)), std::vector<double>(size_t(n * c))};
  for (int64_t i = 0; i < n; ++i) {
    const float* x = logits.data() + i * c;
    double m = -std::numeric_limits<double>::infinity(), mean = 0;
    for (int64_t j = 0; j < c; ++j) m = std::max(m, double(x[j])), mean += x[j] / double(c);
    double s = 0;
    for (int64_t j = 0; j < c; ++j) s += std::exp(x[j] - m);
    double lse = m + std::log(s);
    int32_t y = labels[size_t(i)];
    bool valid = y >= 0 && y < c;
    double nan = std::numeric_limits<double>::quiet_NaN();
    r.row_loss[size_t(i)] = valid ? lse - (1 - eps) * x[y] - eps * mean : nan;
    for (int64_t j = 0; j < c; ++j) {
      double target = (j == y ? 1 - eps : 0.0) + eps / double(c);
      r.grad[size_t(i * c + j)] = valid ? std::exp(x[j] - m) / s - target : nan;
    }
  }
  return r;
}

double reduce(const std::vector<double>& rows, Reduction reduction) {
  double total = 0;
  for (double v : rows) total += v;
  return reduction == Reduction::mean ? total / double(rows.size()) : total;
}

std::vector<int32_t> random_labels(Context& ctx, int64_t n, int64_t c) {
  std::uniform_int_distribution<int32_t> pick(0, int32_t(c - 1));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int32_t& y : labels) y = pick(ctx.rng);
  return labels;
}

Tensor upload_labels(Context& ctx, const std::vector<int32_t>& labels) {
  return Tensor::from_host(ctx.device, labels, {int64_t(labels.size())});
}

// Forward (the given reduction) and backward (with dloss when `upstream`) against the reference.
// `margin` > 0 makes every row confident: the label's logit is raised `margin` above the row.
void run(Context& ctx, const std::string& label, int64_t n, int64_t c, float lo, float hi,
         CrossEntropyOptions options, bool upstream = false, float margin = 0.0f) {
  std::vector<float> logits = ctx.uniform(size_t(n * c), lo, hi);
  std::vector<int32_t> labels = random_labels(ctx, n, c);
  if (margin > 0)
    for (int64_t i = 0; i < n; ++i) logits[size_t(i * c + labels[size_t(i)])] = hi + margin;
  Tensor tl = ctx.upload(logits, {n, c}), ty = upload_labels(ctx, labels);
  Reference ref = reference(logits, labels, n, c, options.label_smoothing);
  std::string shape = shapes({{n, c}, {n}});

  bool none = options.reduction == Reduction::none;
  Tensor loss = ctx.poisoned(none ? Shape{n} : Shape{1});
  cross_entropy_forward(tl, ty, loss, options);
  std::vector<double> loss_ref =
      none ? ref.row_loss : std::vector<double>{reduce(ref.row_loss, options.reduction)};
  ctx.check(label + "loss", shape, loss.to_host(), loss_ref, kLossTolerance);

  // dlogits = (softmax − target)·g: g = dloss (one value, or one per row for none) / N for mean.
  std::vector<float> dloss = upstream ? ctx.uniform(none ? size_t(n) : 1, 0.5f, 2.0f)
                                      : std::vector<float>(none ? size_t(n) : 1, 1.0f);
  Tensor tdloss = upstream ? ctx.upload(dloss, none ? Shape{n} : Shape{1}) : Tensor{};
  double scale = options.reduction == Reduction::mean ? 1.0 / double(n) : 1.0;
  std::vector<double> grad_ref(ref.grad.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j)
      grad_ref[size_t(i * c + j)] =
          ref.grad[size_t(i * c + j)] * scale * dloss[none ? size_t(i) : 0];
  Tensor dlogits = ctx.poisoned({n, c});
  cross_entropy_backward(tl, ty, dlogits, options, tdloss);
  ctx.check(label + "dlogits", shape, dlogits.to_host(), grad_ref, kGradTolerance);
}

}  // namespace

VKT_CASE("cross_entropy", "classes_and_batches") {
  // Class counts below, near and far above the workgroup (C = 1013 loops over C), batches of 1.
  for (int64_t c : {2, 10, 1013})
    for (int64_t n : {1, 7, 33})
      run(ctx, "n" + std::to_string(n) + "_c" + std::to_string(c) + "/", n, c, -4.0f, 4.0f, {});
}

VKT_CASE("cross_entropy", "large_logits") {
  // exp(±80) overflows float32's exp without the max subtracted; the loss stays finite and exact.
  run(ctx, "uniform80/", 9, 37, -80.0f, 80.0f, {});
  run(ctx, "positive/", 5, 300, 70.0f, 80.0f, {.label_smoothing = 0.1f});
  run(ctx, "negative/", 5, 11, -80.0f, -70.0f, {.reduction = Reduction::sum});
}

VKT_CASE("cross_entropy", "confident_rows") {
  // Losses near 1e-6: log Σexp(x − m) = log(1 + rest) with rest tiny. Forming 1 + rest in float32
  // first (as PyTorch's float32 log_softmax does) leaves relative errors near 1e-2; the kernel's
  // log1p and −rest/Σ for the label's gradient keep full relative accuracy.
  run(ctx, "margin14/", 7, 10, -1.0f, 1.0f, {}, false, 14.0f);
  run(ctx, "margin9_c1013/", 5, 1013, -1.0f, 1.0f, {.reduction = Reduction::none}, true, 9.0f);
  run(ctx, "margin12_smoothing/", 5, 10, -1.0f, 1.0f, {.label_smoothing = 0.01f}, false, 12.0f);
}

VKT_CASE("cross_entropy", "label_smoothing") {
  run(ctx, "eps0.1_mean/", 7, 10, -3.0f, 3.0f, {.label_smoothing = 0.1f});
  run(ctx, "eps0.37_sum/", 33, 1013, -3.0f, 3.0f,
      {.reduction = Reduction::sum, .label_smoothing = 0.37f});
  run(ctx, "eps1_none/", 4, 6, -3.0f, 3.0f,
      {.reduction = Reduction::none, .label_smoothing = 1.0f});
}

VKT_CASE("cross_entropy", "reductions_and_upstream_gradient") {
  for (Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
    std::string name = reduction == Reduction::none   ? "none/"
                       : reduction == Reduction::mean ? "mean/"
                                                      : "sum/";
    run(ctx, name, 13, 29, -2.0f, 2.0f, {.reduction = reduction, .label_smoothing = 0.05f}, true);
  }
}

VKT_CASE("cross_entropy", "grid_folds_into_y") {
  // More rows than the 65535 workgroups one grid dimension holds.
  run(ctx, "", 65537, 3, -2.0f, 2.0f, {});
}

VKT_CASE("cross_entropy", "gradcheck") {
  // The reference gradient (softmax − target)/N against central differences of the mean loss.
  const int64_t n = 3, c = 5;
  const double eps = 0.2;
  std::vector<float> logits = ctx.uniform(size_t(n * c), -2.0f, 2.0f);
  std::vector<int32_t> labels = random_labels(ctx, n, c);
  Reference ref = reference(logits, labels, n, c, eps);
  std::vector<double> analytic(ref.grad.size());
  for (size_t i = 0; i < analytic.size(); ++i) analytic[i] = ref.grad[i] / double(n);
  auto loss = [&](const std::vector<double>& x) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double m = -std::numeric_limits<double>::infinity(), mean = 0, s = 0;
      for (int64_t j = 0; j < c; ++j) m = std::max(m, x[size_t(i * c + j)]);
      for (int64_t j = 0; j < c; ++j) {
        s += std::exp(x[size_t(i * c + j)] - m);
        mean += x[size_t(i * c + j)] / double(c);
      }
      total += m + std::log(s) - (1 - eps) * x[size_t(i * c + labels[size_t(i)])] - eps * mean;
    }
    return total / double(n);
  };
  check_gradient(ctx, "mean_smoothing0.2", loss, to_double(logits), analytic);
}

VKT_CASE("cross_entropy", "labels_out_of_range") {
  // Labels live on the device: a row with a label outside [0, C) gets a NaN loss and a NaN gradient
  // row (so the batch mean is NaN); the other rows are untouched and correct.
  const int64_t n = 6, c = 7;
  std::vector<float> logits = ctx.uniform(size_t(n * c), -2.0f, 2.0f);
  std::vector<int32_t> labels = {3, -1, 0, 7, 6, 1000000};
  Tensor tl = ctx.upload(logits, {n, c}), ty = upload_labels(ctx, labels);
  Reference ref = reference(logits, labels, n, c, 0.0);
  std::vector<float> rows = cross_entropy(tl, ty, {.reduction = Reduction::none}).to_host();
  std::vector<float> grad =
      cross_entropy_backward(tl, ty, {.reduction = Reduction::none}).to_host();
  // Context::check requires NaN exactly where the reference is NaN (rows 1, 3 and 5).
  ctx.check("row_losses", shapes({{n, c}, {n}}), rows, ref.row_loss, kLossTolerance);
  ctx.check("dlogits", shapes({{n, c}, {n}}), grad, ref.grad, kGradTolerance);
  float mean = cross_entropy(tl, ty).to_host()[0];
  ctx.check_that("mean_is_nan", std::isnan(mean), mean, 0, "the batch mean with bad labels");
}

VKT_CASE("cross_entropy", "deterministic") {
  const int64_t n = 301, c = 77;
  std::vector<float> logits = ctx.uniform(size_t(n * c), -5.0f, 5.0f);
  Tensor tl = ctx.upload(logits, {n, c}), ty = upload_labels(ctx, random_labels(ctx, n, c));
  float first = cross_entropy(tl, ty).to_host()[0];
  bool same = true;
  for (int i = 0; i < 3; ++i) same = same && cross_entropy(tl, ty).to_host()[0] == first;
  ctx.check_that("bitwise_repeat", same, first, first, "the mean loss, four runs");
}

VKT_CASE("cross_entropy", "bad_arguments") {
  Tensor logits = ctx.poisoned({4, 5});
  Tensor labels = Tensor::zeros(ctx.device, {4}, DType::i32);
  ctx.check_error("rank", [&] { (void)cross_entropy(ctx.poisoned({20}), labels); },
                  {"cross_entropy", "2-D (N, C)", "(20,)"});
  ctx.check_error("label_count",
                  [&] { (void)cross_entropy(logits, Tensor::zeros(ctx.device, {5}, DType::i32)); },
                  {"cross_entropy", "labels have shape (5,)", "expected (4,)", "(4, 5)"});
  ctx.check_error("label_dtype", [&] { (void)cross_entropy(logits, ctx.poisoned({4})); },
                  {"cross_entropy", "labels is float32", "expected int32"});
  ctx.check_error("loss_shape_none",
                  [&] {
                    cross_entropy_forward(logits, labels, ctx.poisoned({1}),
                                          {.reduction = Reduction::none});
                  },
                  {"cross_entropy", "loss has shape (1,)", "expected (4,)"});
  ctx.check_error("loss_shape_mean",
                  [&] { cross_entropy_forward(logits, labels, ctx.poisoned({4})); },
                  {"cross_entropy", "(4,)", "one element"});
  ctx.check_error("smoothing",
                  [&] { (void)cross_entropy(logits, labels, {.label_smoothing = 1.5f}); },
                  {"cross_entropy", "label_smoothing", "[0, 1]"});
  ctx.check_error("dlogits_shape",
                  [&] {
                    cross_entropy_backward(logits, labels, ctx.poisoned({5, 4}));
                  },
                  {"cross_entropy_backward", "(4, 5)", "(5, 4)"});
  ctx.check_error("dloss_shape",
                  [&] {
                    (void)cross_entropy_backward(logits, labels, {.reduction = Reduction::none},
                                                 ctx.poisoned({1}));
                  },
                  {"cross_entropy_backward", "dloss has shape (1,)", "expected (4,)"});
}
