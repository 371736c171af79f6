// mse_loss and l1_loss (forward for each reduction, backward with and without an upstream
// gradient, reference derivatives by finite differences), argmax (ties, NaN, wide rows) and
// count_correct, against float64 and exact references.
// Kernels exercised: loss_pointwise (forward and backward), reduce_sum, argmax (both modes).
#include <cmath>
#include <limits>

#include "conformance.hpp"
#include "gradcheck.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// ‖gpu − ref‖/‖ref‖: one float32 rounding per elementwise term; the mean and sum add a
// Kahan-compensated, then tree-ordered, float32 reduction of non-negative terms (relative error a
// few eps).
constexpr double kTolerance = 1e-6;

const char* reduction_label(Reduction r) {
  return r == Reduction::none ? "none" : r == Reduction::mean ? "mean" : "sum";
}

double term(bool mse, double d) {
  return mse ? d * d : std::abs(d);
}
double slope(bool mse, double d) {
  return mse ? 2 * d : double((d > 0) - (d < 0));
}

void check_pointwise_loss(Context& ctx, bool mse) {
  const Shape shape{7, 33, 5};
  size_t n = size_t(shape_numel(shape));
  std::vector<float> input = ctx.uniform(n, -2.0f, 2.0f), target = ctx.uniform(n, -2.0f, 2.0f);
  // Exact ties, where l1's subgradient is 0 (as PyTorch's sign).
  for (size_t i = 0; i < n; i += 97) target[i] = input[i];
  Tensor ti = ctx.upload(input, shape), tt = ctx.upload(target, shape);
  for (Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
    std::string label = reduction_label(reduction);
    bool none = reduction == Reduction::none;
    std::vector<double> terms(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += terms[i] = term(mse, double(input[i]) - target[i]);
    if (reduction == Reduction::mean) total /= double(n);
    Tensor loss = ctx.poisoned(none ? shape : Shape{1});
    if (mse)
      mse_loss_forward(ti, tt, loss, reduction);
    else
      l1_loss_forward(ti, tt, loss, reduction);
    ctx.check(label + "/loss", shapes({shape}), loss.to_host(),
              none ? terms : std::vector<double>{total}, kTolerance);

    // Backward without dloss (1), then with one (a scalar, or per element for none).
    double scale = reduction == Reduction::mean ? 1.0 / double(n) : 1.0;
    for (bool upstream : {false, true}) {
      std::vector<float> dloss = ctx.uniform(none ? n : 1, 0.5f, 2.0f);
      Tensor tdloss = upstream ? ctx.upload(dloss, none ? shape : Shape{1}) : Tensor{};
      std::vector<double> ref(n);
      for (size_t i = 0; i < n; ++i)
        ref[i] = slope(mse, double(input[i]) - target[i]) * scale *
                 (upstream ? dloss[none ? i : 0] : 1.0);
      Tensor dinput = ctx.poisoned(shape);
      if (mse)
        mse_loss_backward(ti, tt, dinput, reduction, tdloss);
      else
        l1_loss_backward(ti, tt, dinput, reduction, tdloss);
      ctx.check(label + (upstream ? "/dinput_dloss" : "/dinput"), shapes({shape}), dinput.to_host(),
                ref, kTolerance);
    }
  }

  // The reference derivative of the mean loss by central differences (l1 away from its kink).
  std::vector<float> x = ctx.uniform(29, -2.0f, 2.0f), y = ctx.uniform(29, -2.0f, 2.0f);
  for (size_t i = 0; i < x.size(); ++i)
    if (std::abs(x[i] - y[i]) < 1e-2f) x[i] = y[i] + 0.5f;
  std::vector<double> analytic(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    analytic[i] = slope(mse, double(x[i]) - y[i]) / double(x.size());
  auto loss = [&](const std::vector<double>& v) {
    double total = 0;
    for (size_t i = 0; i < v.size(); ++i) total += term(mse, v[i] - y[i]);
    return total / double(v.size());
  };
  check_gradient(ctx, "mean", loss, to_double(x), analytic);
}

// torch.argmax on a row: the first index of the maximum, a NaN counting as the maximum.
int32_t argmax_ref(const float* row, int64_t c) {
  int32_t best = 0;
  for (int64_t j = 0; j < c; ++j) {
    if (std::isnan(row[j])) return int32_t(j);
    if (row[j] > row[best]) best = int32_t(j);
  }
  return best;
}

std::vector<uint32_t> as_u32(const std::vector<int32_t>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

VKT_CASE("mse_loss", "reductions_backward") {
  check_pointwise_loss(ctx, true);
}
VKT_CASE("l1_loss", "reductions_backward") {
  check_pointwise_loss(ctx, false);
}

VKT_CASE("mse_loss", "empty_and_bad_arguments") {
  // PyTorch: the mean over no elements is NaN, the sum 0.
  Tensor empty = ctx.poisoned({0, 3});
  float mean = mse_loss(empty, empty).to_host()[0];
  float total = l1_loss(empty, empty, Reduction::sum).to_host()[0];
  ctx.check_that("empty_mean_nan", std::isnan(mean), mean, 0);
  ctx.check_that("empty_sum_zero", total == 0.0f, total, 0);
  Tensor a = ctx.poisoned({4, 5});
  ctx.check_error("shapes",
                  [&] {
                    (void)mse_loss(a, ctx.poisoned({4, 6}));
                  },
                  {"mse_loss", "(4, 5)", "(4, 6)"});
  ctx.check_error("loss_shape", [&] { l1_loss_forward(a, a, ctx.poisoned({1}), Reduction::none); },
                  {"l1_loss", "loss has shape (1,)", "expected (4, 5)"});
  ctx.check_error("dloss_shape",
                  [&] {
                    (void)mse_loss_backward(a, a, Reduction::mean, ctx.poisoned({4, 5}));
                  },
                  {"mse_loss_backward", "dloss has shape (4, 5)", "one element"});
}

VKT_CASE("argmax", "ties_nan_and_widths") {
  for (int64_t c : {1, 5, 300, 1013}) {
    for (int64_t n : {1, 7, 33}) {
      std::vector<float> logits = ctx.uniform(size_t(n * c), -3.0f, 3.0f);
      std::uniform_int_distribution<int64_t> col(0, c - 1);
      for (int64_t i = 0; i < n; ++i) {
        float* row = logits.data() + i * c;
        switch (i % 5) {
          case 1: {  // a tie for the maximum: the first index wins
            int64_t a = col(ctx.rng), b = col(ctx.rng);
            row[a] = row[b] = 10.0f;
            break;
          }
          case 2:  // all equal
            for (int64_t j = 0; j < c; ++j) row[j] = -1.5f;
            break;
          case 3:  // NaN beats everything, the first NaN among several
            row[col(ctx.rng)] = std::numeric_limits<float>::quiet_NaN();
            row[col(ctx.rng)] = std::numeric_limits<float>::quiet_NaN();
            break;
          case 4:  // −inf everywhere but one +inf
            for (int64_t j = 0; j < c; ++j) row[j] = -std::numeric_limits<float>::infinity();
            row[col(ctx.rng)] = std::numeric_limits<float>::infinity();
            break;
          default: break;
        }
      }
      std::vector<int32_t> ref(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) ref[size_t(i)] = argmax_ref(logits.data() + i * c, c);
      Tensor indices = Tensor::empty(ctx.device, {n}, DType::i32);
      indices.fill(-7.0f);  // poisoned: -7 is never a valid index
      argmax_into(ctx.upload(logits, {n, c}), indices);
      ctx.check_equal("n" + std::to_string(n) + "_c" + std::to_string(c), shapes({{n, c}}),
                      as_u32(indices.to_host_i32()), as_u32(ref));
    }
  }
  ctx.check_error("indices_dtype",
                  [&] {
                    argmax_into(ctx.poisoned({3, 4}), ctx.poisoned({3}));
                  },
                  {"argmax", "indices is float32", "expected int32"});
  ctx.check_error("indices_shape",
                  [&] {
                    argmax_into(ctx.poisoned({3, 4}), Tensor::empty(ctx.device, {4}, DType::i32));
                  },
                  {"argmax", "(4,)", "expected (3,)", "(3, 4)"});
}

VKT_CASE("count_correct", "exact") {
  for (int64_t c : {2, 10, 517}) {
    const int64_t n = 263;
    std::vector<float> logits = ctx.uniform(size_t(n * c), -3.0f, 3.0f);
    std::uniform_int_distribution<int32_t> pick(0, int32_t(c - 1));
    std::vector<int32_t> labels(static_cast<size_t>(n));
    uint32_t expected = 0;
    for (int64_t i = 0; i < n; ++i) {
      int32_t best = argmax_ref(logits.data() + i * c, c);
      // About half the rows right; some labels out of range, which never count.
      int32_t label = i % 2 == 0 ? best : pick(ctx.rng);
      if (i % 11 == 0) label = i % 22 == 0 ? -1 : int32_t(c);
      labels[size_t(i)] = label;
      expected += label == best;
    }
    Tensor count = ctx.poisoned({1});
    count_correct_into(ctx.upload(logits, {n, c}), Tensor::from_host(ctx.device, labels, {n}),
                       count);
    float got = count.to_host()[0];
    bool integral = std::isfinite(got) && got >= 0 && got == std::floor(got);
    ctx.check_that("c" + std::to_string(c) + "_integral", integral, got, expected);
    ctx.check_equal("c" + std::to_string(c), shapes({{n, c}, {n}}),
                    std::vector<uint32_t>{integral ? uint32_t(got) : UINT32_MAX},
                    std::vector<uint32_t>{expected});
  }
  ctx.check_error("labels_dtype",
                  [&] {
                    (void)count_correct(ctx.poisoned({3, 4}), ctx.poisoned({3}));
                  },
                  {"count_correct", "labels is float32", "expected int32"});
}
