// Weight penalties (L2, L1, both): gradients against float64, the penalty's value (deterministic,
// fused with the gradient pass or alone), capture/replay on new weights, argument errors.
// Kernels exercised: penalty_apply, clip_grad_norm (its finishing pass sums the value).
#include <cmath>

#include <vktrain/optim.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// grad + l2·θ + l1·sign θ: one or two roundings per element.
constexpr double kGradTolerance = 1e-6;
// Σ of non-negative terms: Kahan-compensated slices, then trees over ≤ 256 values and ≤ 64 blocks
// per tensor: a few roundings of the result, 1e-6 relative.
constexpr double kValueTolerance = 1e-6;

struct Params {
  std::vector<Shape> shapes;
  std::vector<std::vector<float>> values, grads;
  std::vector<optim::ParamRef> refs;
};

// Odd sizes, a single element and an empty tensor; some weights exactly 0 (sign(0) = 0).
Params make_params(Context& ctx, std::vector<Shape> shapes = {{1003}, {7, 13}, {1}, {0}, {20000}}) {
  Params p;
  p.shapes = std::move(shapes);
  for (size_t i = 0; i < p.shapes.size(); ++i) {
    size_t n = size_t(shape_numel(p.shapes[i]));
    std::vector<float> value = ctx.uniform(n), grad = ctx.uniform(n);
    for (size_t j = 0; j < n; j += 17) value[j] = 0.0f;
    p.values.push_back(value);
    p.grads.push_back(grad);
    p.refs.push_back(
        {"p" + std::to_string(i), ctx.upload(value, p.shapes[i]), ctx.upload(grad, p.shapes[i])});
  }
  return p;
}

double sign(double v) {
  return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
}

double reference_value(const Params& p, const optim::Penalty& penalty) {
  double squares = 0, absolute = 0;
  for (const auto& value : p.values)
    for (float v : value) squares += double(v) * v, absolute += std::abs(double(v));
  return penalty.l2 / 2 * squares + penalty.l1 * absolute;
}

void check_gradients(Context& ctx, const std::string& label, const Params& p,
                     const optim::Penalty& penalty) {
  std::vector<float> gpu;
  std::vector<double> ref;
  std::string all;
  for (size_t i = 0; i < p.refs.size(); ++i) {
    std::vector<float> got = p.refs[i].grad.to_host();
    gpu.insert(gpu.end(), got.begin(), got.end());
    for (size_t j = 0; j < got.size(); ++j)
      ref.push_back(p.grads[i][j] + penalty.l2 * p.values[i][j] +
                    penalty.l1 * sign(p.values[i][j]));
    all += (all.empty() ? "" : " ") + shape_str(p.shapes[i]);
  }
  ctx.check(label, all, gpu, ref, kGradTolerance);
}

void check_penalty(Context& ctx, const std::string& label, const optim::Penalty& penalty) {
  Params p = make_params(ctx);
  optim::WeightPenalty weight_penalty(p.refs, penalty);
  weight_penalty.apply(true);
  check_gradients(ctx, label + "/grad", p, penalty);
  ctx.check(label + "/value", "", weight_penalty.value().to_host(),
            std::vector<double>{reference_value(p, penalty)}, kValueTolerance);
}

}  // namespace

VKT_CASE("weight_penalty", "l2") {
  check_penalty(ctx, "l2", {.l2 = 0.01});
}
VKT_CASE("weight_penalty", "l1") {
  check_penalty(ctx, "l1", {.l1 = 0.003});
}
VKT_CASE("weight_penalty", "l1_and_l2") {
  check_penalty(ctx, "l1_l2", {.l2 = 0.5, .l1 = 0.25});
}

VKT_CASE("weight_penalty", "value_alone_and_one_parameter") {
  optim::Penalty penalty{.l2 = 0.2, .l1 = 0.1};
  Params p = make_params(ctx);
  optim::WeightPenalty weight_penalty(p.refs, penalty);
  weight_penalty.compute_value();
  ctx.check("value", "", weight_penalty.value().to_host(),
            std::vector<double>{reference_value(p, penalty)}, kValueTolerance);
  // The gradients are untouched by compute_value().
  bool untouched = true;
  for (size_t i = 0; i < p.refs.size(); ++i)
    untouched = untouched && p.refs[i].grad.to_host() == p.grads[i];
  ctx.check_that("grads_untouched", untouched, 0, 0);
  // Bitwise repeatable: a fixed order of additions.
  float first = weight_penalty.value().to_host()[0];
  weight_penalty.compute_value();
  float second = weight_penalty.value().to_host()[0];
  ctx.check_that("bitwise_repeat", first == second, second, first);

  // The one-parameter form.
  optim::apply_penalty(p.refs[1], penalty);
  Params only{{p.shapes[1]}, {p.values[1]}, {p.grads[1]}, {p.refs[1]}};
  check_gradients(ctx, "apply_penalty", only, penalty);
}

VKT_CASE("weight_penalty", "capture_replay") {
  // A captured apply(true) replayed on new weights and gradients uses them.
  optim::Penalty penalty{.l2 = 0.1, .l1 = 0.01};
  Params p = make_params(ctx, {{513}, {3, 5}});
  optim::WeightPenalty weight_penalty(p.refs, penalty);
  Sequence sequence = ctx.device.scheduler().capture([&] { weight_penalty.apply(true); });
  for (int replay = 0; replay < 2; ++replay) {
    for (size_t i = 0; i < p.refs.size(); ++i) {
      p.values[i] = ctx.uniform(p.values[i].size());
      p.grads[i] = ctx.uniform(p.grads[i].size());
      p.refs[i].value.upload(p.values[i]);
      p.refs[i].grad.upload(p.grads[i]);
    }
    ctx.device.scheduler().replay(sequence);
    std::string label = "replay" + std::to_string(replay);
    check_gradients(ctx, label + "/grad", p, penalty);
    ctx.check(label + "/value", "", weight_penalty.value().to_host(),
              std::vector<double>{reference_value(p, penalty)}, kValueTolerance);
  }
}

VKT_CASE("weight_penalty", "bad_arguments") {
  std::vector<optim::ParamRef> params{{"w", ctx.poisoned({4, 3}), ctx.poisoned({4, 3})}};
  ctx.check_error("negative_l2", [&] { optim::WeightPenalty(params, {.l2 = -0.1}); },
                  {"weight_penalty", "l2", "-0.1"});
  ctx.check_error("negative_l1", [&] { optim::WeightPenalty(params, {.l1 = -1}); },
                  {"weight_penalty", "l1"});
  ctx.check_error("shape",
                  [&] {
                    optim::apply_penalty({"w", ctx.poisoned({4, 3}), ctx.poisoned({3, 4})}, {});
                  },
                  {"weight_penalty", "(4, 3)", "(3, 4)"});
}
