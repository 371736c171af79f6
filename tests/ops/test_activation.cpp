// Activations: forward against float64 references (GELU against the exact erf of <cmath>), the
// reference derivatives by finite differences, and the GPU backward from x and from y, at odd
// sizes.
#include <cmath>
#include <limits>
#include <optional>

#include "conformance.hpp"
#include "gradcheck.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// ‖gpu − ref‖/‖ref‖ for the forwards: each output is one float32 evaluation of an exp/erf-based
// formula, a few ulps per element (measured ≤ 6e-8 on lavapipe); 1e-6 leaves room for a driver's
// exp, which Vulkan lets err by 3 + 2·|x| ulps.
constexpr double kForwardTolerance = 1e-6;
// Backward: dy·f'(x) adds a few roundings, and gelu_tanh's derivative sums terms of both signs
// (measured ≤ 5e-7).
constexpr double kBackwardTolerance = 3e-6;

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

double forward_ref(ActivationKind kind, double x, double p) {
  switch (kind) {
    case ActivationKind::relu: return x > 0 ? x : 0.0;
    case ActivationKind::leaky_relu: return x > 0 ? x : p * x;
    case ActivationKind::elu: return x > 0 ? x : p * std::expm1(x);
    case ActivationKind::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::tanh: return std::tanh(x);
    case ActivationKind::gelu: return x * normal_cdf(x);
    case ActivationKind::gelu_tanh:
      return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  }
  return 0;
}

double derivative_ref(ActivationKind kind, double x, double p) {
  switch (kind) {
    case ActivationKind::relu: return x > 0 ? 1.0 : 0.0;
    case ActivationKind::leaky_relu: return x > 0 ? 1.0 : p;
    case ActivationKind::elu: return x > 0 ? 1.0 : p * std::exp(x);
    case ActivationKind::sigmoid: {
      double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1 - s);
    }
    case ActivationKind::tanh: {
      double t = std::tanh(x);
      return 1 - t * t;
    }
    case ActivationKind::gelu: return normal_cdf(x) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    case ActivationKind::gelu_tanh: {
      double t = std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * kSqrt2OverPi * (1 + 3 * 0.044715 * x * x);
    }
  }
  return 0;
}

// f'(x) written in terms of y = f(x), as the GPU does from a saved output (float32 y, so the
// reference sees the same rounded y and the check measures the kernel, not the saving).
double derivative_from_output_ref(ActivationKind kind, double y, double p) {
  switch (kind) {
    case ActivationKind::relu: return y > 0 ? 1.0 : 0.0;
    case ActivationKind::leaky_relu: return y > 0 ? 1.0 : p;
    case ActivationKind::elu: return y > 0 ? 1.0 : y + p;
    case ActivationKind::sigmoid: return y * (1 - y);
    case ActivationKind::tanh: return 1 - y * y;
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

bool has_kink(ActivationKind kind) {
  return kind == ActivationKind::relu || kind == ActivationKind::leaky_relu ||
         kind == ActivationKind::elu;
}

// Inputs spread over [-8, 8) (the tails of sigmoid, tanh and GELU's erfc branch), plus exact
// zeros, tiny values and saturating ones; kinks are kept off the grid when `away_from_kink`.
std::vector<float> inputs(Context& ctx, size_t n, bool away_from_kink) {
  std::vector<float> x = ctx.uniform(n, -8.0f, 8.0f);
  const float specials[] = {0.0f,   -0.0f, 1e-6f,  -1e-6f, 1e-3f,
                            -2e-3f, 20.0f, -20.0f, 80.0f,  -80.0f};
  for (size_t i = 0; i < std::size(specials) && i * 7 < n; ++i) x[i * 7] = specials[i];
  if (away_from_kink)
    for (float& v : x)
      if (std::abs(v) < 1e-2f) v = v < 0 ? -0.5f : 0.5f;
  return x;
}

void check_activation(Context& ctx, ActivationKind kind, std::optional<float> param) {
  double p = param ? *param : kind == ActivationKind::leaky_relu ? 0.01 : 1.0;

  // The reference derivative against central differences of Σ f(x)·dy, in float64, on a small
  // input kept away from the kinks of relu, leaky_relu and elu.
  std::vector<float> xs = inputs(ctx, 41, has_kink(kind));
  for (float& v : xs) v = std::clamp(v, -6.0f, 6.0f);
  std::vector<float> dys = ctx.uniform(41);
  std::vector<double> dys_d = to_double(dys);
  std::vector<double> analytic(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) analytic[i] = dys[i] * derivative_ref(kind, xs[i], p);
  auto loss = [&](const std::vector<double>& v) {
    std::vector<double> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = forward_ref(kind, v[i], p);
    return weighted_sum(out, dys_d);
  };
  check_gradient(ctx, "reference", loss, to_double(xs), analytic);

  // 1005 elements: not a multiple of the workgroup, the last block of four partial (the scalar
  // kernel); 1020: whole blocks of four (the vec4 kernel, vec4_whole); 115500: on CPU devices two
  // windowed dispatches (seven windows of 16384 floats a tensor each), the second partial.
  for (const Shape& shape : {Shape{3, 5, 67}, Shape{3, 5, 68}, Shape{3, 5, 7700}}) {
    size_t n = size_t(shape_numel(shape));
    std::vector<float> x = inputs(ctx, n, false);
    std::vector<float> dy = ctx.uniform(n);
    Tensor tx = ctx.upload(x, shape), tdy = ctx.upload(dy, shape);

    Tensor y = ctx.poisoned(shape);
    activation_forward(kind, tx, y, param);
    std::vector<double> y_ref(n), dx_ref(n);
    for (size_t i = 0; i < n; ++i) {
      y_ref[i] = forward_ref(kind, x[i], p);
      dx_ref[i] = dy[i] * derivative_ref(kind, x[i], p);
    }
    std::vector<float> y_gpu = y.to_host();
    ctx.check("forward", shapes({shape}), y_gpu, y_ref, kForwardTolerance);

    Tensor dx = ctx.poisoned(shape);
    activation_backward(kind, tdy, tx, Tensor{}, dx, param);
    ctx.check("backward_from_x", shapes({shape}), dx.to_host(), dx_ref, kBackwardTolerance);

    if (kind != ActivationKind::gelu && kind != ActivationKind::gelu_tanh) {
      std::vector<double> from_y(n);
      for (size_t i = 0; i < n; ++i)
        from_y[i] = dy[i] * derivative_from_output_ref(kind, y_gpu[i], p);
      Tensor dx_y = ctx.poisoned(shape);
      activation_backward(kind, tdy, Tensor{}, y, dx_y, param);
      ctx.check("backward_from_y", shapes({shape}), dx_y.to_host(), from_y, kBackwardTolerance);
    }
  }
}

}  // namespace

VKT_CASE("relu", "forward_backward") {
  check_activation(ctx, ActivationKind::relu, std::nullopt);
}
VKT_CASE("leaky_relu", "forward_backward") {
  check_activation(ctx, ActivationKind::leaky_relu, std::nullopt);  // slope 0.01
  check_activation(ctx, ActivationKind::leaky_relu, 0.2f);
}
VKT_CASE("elu", "forward_backward") {
  check_activation(ctx, ActivationKind::elu, std::nullopt);  // alpha 1
  check_activation(ctx, ActivationKind::elu, 1.7f);
}
VKT_CASE("sigmoid", "forward_backward") {
  check_activation(ctx, ActivationKind::sigmoid, {});
}
VKT_CASE("tanh", "forward_backward") {
  check_activation(ctx, ActivationKind::tanh, {});
}
VKT_CASE("gelu", "forward_backward") {
  check_activation(ctx, ActivationKind::gelu, {});
}
VKT_CASE("gelu_tanh", "forward_backward") {
  check_activation(ctx, ActivationKind::gelu_tanh, {});
}

VKT_CASE("gelu", "erf_accuracy") {
  // GELU on a dense grid over [-12, 12]: |gpu − x·Φ(x)| ≤ 2e-7·max(1, |x|) element by element (the
  // float32 erf is within 6.2e-8 of erf, plus the roundings of Φ and x·Φ; measured 1.0e-7), and in
  // the left tail the relative error stays small where PyTorch's 0.5·(1 + erf) cancels to nothing.
  const int64_t n = 24001;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(-12.0 + 24.0 * double(i) / double(n - 1));
  std::vector<float> y = activation(ActivationKind::gelu, ctx.upload(x, {n})).to_host();
  double worst = 0, worst_tail = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double ref = x[i] * normal_cdf(x[i]);
    worst = std::max(worst, std::abs(y[i] - ref) / std::max(1.0, std::abs(double(x[i]))));
    if (x[i] < -3.0 && x[i] > -9.0) worst_tail = std::max(worst_tail, std::abs(y[i] / ref - 1.0));
  }
  ctx.check_that("max_abs_error", worst <= 2e-7, worst, 2e-7, "max |gpu - ref| / max(1, |x|)");
  // Φ(x) = 0.5·erfc(−x/√2) with exp(−z²), z² up to 40.5: exp may err by 3 + 2·40.5 ulps (5e-6);
  // measured 7.5e-6 on lavapipe (its exp goes through exp2 of a rounded x·log2 e).
  ctx.check_that("left_tail_relative", worst_tail <= 2e-5, worst_tail, 2e-5,
                 "max relative error for x in (-9, -3)");
}

VKT_CASE("activation", "in_place") {
  // y = x and dx = dy: each invocation reads its element before writing it.
  const Shape shape{257};
  std::vector<float> x = ctx.uniform(257, -4.0f, 4.0f), dy = ctx.uniform(257);
  Tensor t = ctx.upload(x, shape);
  activation_forward(ActivationKind::elu, t, t);
  std::vector<double> y_ref(257), dx_ref(257);
  for (size_t i = 0; i < x.size(); ++i) {
    y_ref[i] = forward_ref(ActivationKind::elu, x[i], 1.0);
    dx_ref[i] = dy[i] * derivative_ref(ActivationKind::elu, x[i], 1.0);
  }
  std::vector<float> y = t.to_host();
  ctx.check("forward", shapes({shape}), y, y_ref, kForwardTolerance);
  // From y (x was overwritten): elu with alpha ≥ 0 allows it.
  Tensor g = ctx.upload(dy, shape);
  activation_backward(ActivationKind::elu, g, Tensor{}, t, g);
  std::vector<double> from_y(257);
  for (size_t i = 0; i < x.size(); ++i) from_y[i] = dy[i] * (y[i] > 0 ? 1.0 : y[i] + 1.0);
  ctx.check("backward", shapes({shape}), g.to_host(), from_y, kBackwardTolerance);
}

// The backward of relu then dropout from the dropped output (matmul's dropout epilogue): against
// keep && x > 0 ? dy / (1 − p) : 0 in float64 and bit for bit against dropout_backward followed by
// relu's backward; 1003 elements (scalar tail) and 240,012 (two windowed dispatches on CPU
// devices).
VKT_CASE("relu", "relu_dropout_backward") {
  for (int64_t n : {int64_t(1003), int64_t(240012)}) {
    const Shape shape{n};
    std::vector<float> x = ctx.uniform(size_t(n), -2.0f, 2.0f), dy = ctx.uniform(size_t(n));
    const DropoutParams params{.p = 0.35f, .seed = ctx.rng(), .stream = 3};
    uint32_t words[] = {uint32_t(ctx.rng() % 100)};
    Tensor step = Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
    Tensor r = activation(ActivationKind::relu, ctx.upload(x, shape));
    Tensor y = dropout(r, step, params), g = ctx.upload(dy, shape);
    Tensor fused = ctx.poisoned(shape);
    relu_dropout_backward(g, y, philox::dropout_scale(params.p), fused);
    Tensor separate =
        activation_backward(ActivationKind::relu, dropout(g, step, params), Tensor{}, r);
    std::vector<float> result = fused.to_host();
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      bool keep = double(philox::dropout_bits(params.seed, params.stream, words[0], i)) / 65536.0 >=
                  double(params.p);
      ref[i] = keep && x[i] > 0.0f ? double(dy[i]) / (1.0 - params.p) : 0.0;
    }
    ctx.check("n=" + std::to_string(n), shapes({shape}), result, ref, kBackwardTolerance);
    ctx.check_equal("n=" + std::to_string(n) + " = dropout, then relu backward, bitwise",
                    shapes({shape}), bits(result), bits(separate.to_host()));
  }
  Tensor a = ctx.poisoned({4, 5});
  ctx.check_error("shape",
                  [&] {
                    relu_dropout_backward(a, ctx.poisoned({5, 4}), 2.0f, a);
                  },
                  {"relu_dropout_backward", "(4, 5)", "(5, 4)"});
}

VKT_CASE("activation", "bad_arguments") {
  Tensor x = ctx.poisoned({4, 5});
  ctx.check_error("shape",
                  [&] {
                    activation_forward(ActivationKind::tanh, x, ctx.poisoned({5, 4}));
                  },
                  {"tanh", "(4, 5)", "(5, 4)"});
  ctx.check_error(
      "dtype",
      [&] {
        activation_forward(ActivationKind::relu, x, Tensor::zeros(ctx.device, {4, 5}, DType::i32));
      },
      {"relu", "y is int32", "expected float32"});
  ctx.check_error("gelu_needs_x",
                  [&] {
                    activation_backward(ActivationKind::gelu, x, Tensor{}, x, ctx.poisoned({4, 5}));
                  },
                  {"gelu", "needs x"});
  ctx.check_error("negative_slope_needs_x",
                  [&] {
                    activation_backward(ActivationKind::leaky_relu, x, Tensor{}, x,
                                        ctx.poisoned({4, 5}), -0.5f);
                  },
                  {"leaky_relu", "needs x", "negative"});
  ctx.check_error("backward_shape",
                  [&] {
                    activation_backward(ActivationKind::sigmoid, x, Tensor{}, ctx.poisoned({20}),
                                        ctx.poisoned({4, 5}));
                  },
                  {"sigmoid", "(20,)", "(4, 5)"});
}
