// torch.optim.Adam and AdamW: L2 and decoupled weight decay, AMSGrad, maximize, parameter groups,
// bias corrections late in training (resumed state), capture/replay, argument errors — against a
// float64 model of torch's update.
// Kernels exercised: optim_adam_bias (each group's bias corrections, once a step) and optim_adam
// (Adam, AMSGrad, and AdamW with DECOUPLED).
#include <cmath>

#include "test_optim_harness.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::optim_test;

namespace {

// torch.optim.Adam(W)'s update of one parameter (torch computes the bias corrections in double).
Update adam_update(const optim::AdamOptions& o, bool decoupled) {
  return
      [o, decoupled](RefParam& p, const std::vector<float>& grad, int64_t t, double lr, double wd) {
        auto [beta1, beta2] = o.betas;
        double bias_correction1 = 1 - std::pow(beta1, double(t));
        double bias_correction2 = 1 - std::pow(beta2, double(t));
        for (size_t i = 0; i < p.value.size(); ++i) {
          double g = o.maximize ? -double(grad[i]) : double(grad[i]);
          if (decoupled)
            p.value[i] *= 1 - lr * wd;
          else if (wd != 0)
            g += wd * p.value[i];
          double& m = p.buffers["exp_avg"][i];
          double& v = p.buffers["exp_avg_sq"][i];
          m = beta1 * m + (1 - beta1) * g;
          v = beta2 * v + (1 - beta2) * g * g;
          double second = v;
          if (o.amsgrad) {
            double& v_max = p.buffers["max_exp_avg_sq"][i];
            v_max = std::max(v_max, v);
            second = v_max;
          }
          double denom = std::sqrt(second) / std::sqrt(bias_correction2) + o.eps;
          p.value[i] -= lr / bias_correction1 * m / denom;
        }
      };
}

optim::AdamOptions as_adam(const optim::AdamWOptions& o) {
  return {o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}

void check_adam(Context& ctx, const std::string& label, const optim::AdamOptions& options,
                Run run = {}) {
  run.lr = options.lr;
  run.weight_decay = options.weight_decay;
  run.buffers = {{"exp_avg", 0.0f}, {"exp_avg_sq", 0.0f}};
  if (options.amsgrad) run.buffers.push_back({"max_exp_avg_sq", 0.0f});
  check_optimizer(
      ctx, label, run,
      [&](std::vector<optim::ParamGroup> groups) {
        return std::make_unique<optim::Adam>(std::move(groups), options);
      },
      adam_update(options, false));
}

void check_adamw(Context& ctx, const std::string& label, const optim::AdamWOptions& options,
                 Run run = {}) {
  run.lr = options.lr;
  run.weight_decay = options.weight_decay;
  run.buffers = {{"exp_avg", 0.0f}, {"exp_avg_sq", 0.0f}};
  if (options.amsgrad) run.buffers.push_back({"max_exp_avg_sq", 0.0f});
  check_optimizer(
      ctx, label, run,
      [&](std::vector<optim::ParamGroup> groups) {
        return std::make_unique<optim::AdamW>(std::move(groups), options);
      },
      adam_update(as_adam(options), true));
}

}  // namespace

// Rates of 0.05 move θ (in ±1) by about 0.05 a step, so the check sees the update, not just θ₀.
VKT_CASE("adam", "defaults") {
  check_adam(ctx, "", {.lr = 0.05});
}

VKT_CASE("adam", "weight_decay") {
  check_adam(ctx, "", {.lr = 0.05, .betas = {0.8, 0.99}, .weight_decay = 0.1});
}

VKT_CASE("adam", "amsgrad_maximize") {
  check_adam(ctx, "amsgrad", {.lr = 0.05, .weight_decay = 0.01, .amsgrad = true});
  check_adam(ctx, "maximize", {.lr = 0.05, .eps = 1e-3, .maximize = true});
  // β = 0: no averaging, bias corrections of exactly 1.
  check_adam(ctx, "zero_betas", {.lr = 0.05, .betas = {0.0, 0.0}});
}

VKT_CASE("adam", "param_groups_and_set_lr") {
  Run run;
  run.groups = {{{0}, 0.02, 0.05}, {{1, 2}, std::nullopt, 0.0}};
  run.set_lrs = {{2, {0.1, 0.01}}, {4, {0.03, 0.03}}};
  check_adam(ctx, "", {.lr = 0.05, .weight_decay = 0.01}, run);
}

VKT_CASE("adamw", "defaults") {
  // torch's AdamW default decay of 1e-2; a larger rate so the decoupled decay shows.
  check_adamw(ctx, "", {.lr = 0.05});
  check_adamw(ctx, "strong_decay", {.lr = 0.05, .weight_decay = 0.5});
}

VKT_CASE("adamw", "amsgrad_groups") {
  Run run;
  run.groups = {{{0, 1}, std::nullopt, std::nullopt}, {{2}, 0.01, 0.0}};
  run.set_lrs = {{3, {0.02, 0.04}}};
  check_adamw(ctx, "", {.lr = 0.05, .weight_decay = 0.2, .amsgrad = true}, run);
}

VKT_CASE("adam", "resumed_late_step") {
  // Loading state (as from a checkpoint) at t = 99, 999 and 99999 exercises the bias corrections
  // 1 − βᵗ on both of the kernel's paths (series near t·ln β = 0, exp beyond) and near 1.
  for (uint32_t resumed : {99u, 999u, 99999u}) {
    Shape shape{301};
    std::vector<float> value = ctx.uniform(301), grad = ctx.uniform(301);
    std::vector<float> m = ctx.uniform(301, -0.1f, 0.1f), v = ctx.uniform(301, 0.0f, 0.01f);
    optim::ParamRef param{"w", ctx.upload(value, shape), ctx.upload(grad, shape)};
    optim::Adam adam({param}, {.lr = 0.05, .amsgrad = true});
    for (const auto& [name, tensor] : adam.state()) {
      if (name == "step") tensor.upload_raw({reinterpret_cast<const uint8_t*>(&resumed), 4});
      if (name == "w.exp_avg") tensor.upload(m);
      if (name == "w.exp_avg_sq" || name == "w.max_exp_avg_sq") tensor.upload(v);
    }
    adam.step();
    RefParam ref{to_double(value),
                 {{"exp_avg", to_double(m)},
                  {"exp_avg_sq", to_double(v)},
                  {"max_exp_avg_sq", to_double(v)}}};
    adam_update({.lr = 0.05, .amsgrad = true}, false)(ref, grad, resumed + 1, 0.05, 0.0);
    // Compare the update itself: θ moves by ~lr while |θ| ~ 0.5.
    std::vector<float> got = param.value.to_host();
    std::vector<float> moved(got.size());
    std::vector<double> expected(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      moved[i] = float(double(got[i]) - value[i]);
      expected[i] = ref.value[i] - value[i];
    }
    // θ's float32 rounding (6e-8·|θ|) against an update of ~0.05: 1e-5 of the update.
    ctx.check("t=" + std::to_string(resumed + 1), shapes({shape}), moved, expected, 1e-5);
  }
}

VKT_CASE("adam", "capture_replay") {
  check_capture(ctx, "adam_amsgrad", [](std::vector<optim::ParamGroup> groups) {
    return std::make_unique<optim::Adam>(
        std::move(groups), optim::AdamOptions{.lr = 0.05, .weight_decay = 0.01, .amsgrad = true});
  });
  check_capture(ctx, "adamw", [](std::vector<optim::ParamGroup> groups) {
    return std::make_unique<optim::AdamW>(std::move(groups), optim::AdamWOptions{.lr = 0.05});
  });
}

VKT_CASE("adam", "bad_arguments") {
  std::vector<optim::ParamRef> params{{"w", ctx.poisoned({7, 13}), ctx.poisoned({7, 13})}};
  ctx.check_error("negative_lr", [&] { optim::Adam adam(params, {.lr = -1e-3}); },
                  {"Adam", "learning rate"});
  ctx.check_error("beta1",
                  [&] {
                    optim::Adam adam(params, {.betas = {1.0, 0.999}});
                  },
                  {"Adam", "beta parameter at index 0", "[0, 1)"});
  ctx.check_error("beta2",
                  [&] {
                    optim::AdamW adam(params, {.betas = {0.9, -0.1}});
                  },
                  {"AdamW", "beta parameter at index 1"});
  ctx.check_error("eps", [&] { optim::Adam adam(params, {.eps = -1e-8}); }, {"Adam", "epsilon"});
  ctx.check_error("weight_decay", [&] { optim::AdamW adam(params, {.weight_decay = -0.01}); },
                  {"AdamW", "weight_decay"});
  ctx.check_error(
      "grad_dtype",
      [&] {
        optim::Adam adam({{"w", ctx.poisoned({3}), Tensor::zeros(ctx.device, {3}, DType::i32)}});
      },
      {"Adam", "'w'", "float32", "int32"});
}

// 70,020 elements: on CPU devices the update kernels' windowed variants take two dispatches or
// more, the last partial (lib/ops/launch.cpp: dispatch_fours). Options without weight decay: at
// this size an L2 term that nearly cancels a gradient somewhere turns Adam's and RMSprop's
// g/√v into a sign test, which float32 and the float64 reference may answer differently.
VKT_CASE("adam", "windowed_dispatches") {
  Run run;
  run.shapes = {{5, 14004}};
  check_adam(ctx, "adam", {.lr = 0.05}, run);
  check_adamw(ctx, "adamw", {.lr = 0.05, .weight_decay = 0.01}, run);
}
