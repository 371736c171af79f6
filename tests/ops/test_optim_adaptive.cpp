// torch.optim.RMSprop (plain, centered, momentum), Adagrad (lr decay, initial accumulator) and
// Adadelta: K steps against float64 models of torch's updates, groups, capture/replay, errors.
// Kernels exercised: optim_rmsprop, optim_adagrad, optim_adadelta.
#include <cmath>

#include "test_optim_harness.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::optim_test;

namespace {

Update rmsprop_update(const optim::RMSpropOptions& o) {
  return [o](RefParam& p, const std::vector<float>& grad, int64_t, double lr, double wd) {
    for (size_t i = 0; i < p.value.size(); ++i) {
      double g = o.maximize ? -double(grad[i]) : double(grad[i]);
      if (wd != 0) g += wd * p.value[i];
      double& s = p.buffers["square_avg"][i];
      s = o.alpha * s + (1 - o.alpha) * g * g;
      double avg;
      if (o.centered) {
        double& mean = p.buffers["grad_avg"][i];
        mean = o.alpha * mean + (1 - o.alpha) * g;
        avg = std::sqrt(s - mean * mean) + o.eps;
      } else {
        avg = std::sqrt(s) + o.eps;
      }
      if (o.momentum > 0) {
        double& b = p.buffers["momentum_buffer"][i];
        b = o.momentum * b + g / avg;
        p.value[i] -= lr * b;
      } else {
        p.value[i] -= lr * g / avg;
      }
    }
  };
}

Update adagrad_update(const optim::AdagradOptions& o) {
  return [o](RefParam& p, const std::vector<float>& grad, int64_t t, double lr, double wd) {
    double clr = lr / (1 + double(t - 1) * o.lr_decay);
    for (size_t i = 0; i < p.value.size(); ++i) {
      double g = o.maximize ? -double(grad[i]) : double(grad[i]);
      if (wd != 0) g += wd * p.value[i];
      double& s = p.buffers["sum"][i];
      s += g * g;
      p.value[i] -= clr * g / (std::sqrt(s) + o.eps);
    }
  };
}

Update adadelta_update(const optim::AdadeltaOptions& o) {
  return [o](RefParam& p, const std::vector<float>& grad, int64_t, double lr, double wd) {
    for (size_t i = 0; i < p.value.size(); ++i) {
      double g = o.maximize ? -double(grad[i]) : double(grad[i]);
      if (wd != 0) g += wd * p.value[i];
      double& s = p.buffers["square_avg"][i];
      double& u = p.buffers["acc_delta"][i];
      s = o.rho * s + (1 - o.rho) * g * g;
      double delta = std::sqrt(u + o.eps) / std::sqrt(s + o.eps) * g;
      u = o.rho * u + (1 - o.rho) * delta * delta;
      p.value[i] -= lr * delta;
    }
  };
}

template <class Optimizer, class Options>
Make maker(const Options& options) {
  return [options](std::vector<optim::ParamGroup> groups) {
    return std::make_unique<Optimizer>(std::move(groups), options);
  };
}

void check_rmsprop(Context& ctx, const std::string& label, const optim::RMSpropOptions& options,
                   Run run = {}) {
  run.lr = options.lr;
  run.weight_decay = options.weight_decay;
  run.buffers = {{"square_avg", 0.0f}};
  if (options.centered) run.buffers.push_back({"grad_avg", 0.0f});
  if (options.momentum > 0) run.buffers.push_back({"momentum_buffer", 0.0f});
  check_optimizer(ctx, label, run, maker<optim::RMSprop>(options), rmsprop_update(options));
}

void check_adagrad(Context& ctx, const std::string& label, const optim::AdagradOptions& options,
                   Run run = {}) {
  run.lr = options.lr;
  run.weight_decay = options.weight_decay;
  run.buffers = {{"sum", float(options.initial_accumulator_value)}};
  check_optimizer(ctx, label, run, maker<optim::Adagrad>(options), adagrad_update(options));
}

void check_adadelta(Context& ctx, const std::string& label, const optim::AdadeltaOptions& options,
                    Run run = {}) {
  run.lr = options.lr;
  run.weight_decay = options.weight_decay;
  run.buffers = {{"square_avg", 0.0f}, {"acc_delta", 0.0f}};
  // Adadelta's steps are ~√eps/√(1−ρ) ≈ 3e-3 at lr = 1: θ of that scale keeps the update visible.
  run.value_scale = 0.01;
  check_optimizer(ctx, label, run, maker<optim::Adadelta>(options), adadelta_update(options));
}

}  // namespace

// RMSprop's first step moves θ by lr/√(1−α) = 10·lr: lr = 0.01 moves θ (in ±1) by ~0.1.
VKT_CASE("rmsprop", "plain") {
  check_rmsprop(ctx, "defaults", {});
  check_rmsprop(ctx, "weight_decay", {.lr = 0.01, .alpha = 0.9, .weight_decay = 0.1});
}

VKT_CASE("rmsprop", "centered_momentum") {
  check_rmsprop(ctx, "centered", {.centered = true});
  check_rmsprop(ctx, "momentum", {.lr = 0.005, .momentum = 0.9});
  check_rmsprop(ctx, "centered_momentum_maximize",
                {.lr = 0.005,
                 .alpha = 0.95,
                 .weight_decay = 0.01,
                 .momentum = 0.5,
                 .centered = true,
                 .maximize = true});
}

VKT_CASE("rmsprop", "param_groups_and_set_lr") {
  Run run;
  run.groups = {{{0, 2}, 0.002, 0.1}, {{1}, std::nullopt, std::nullopt}};
  run.set_lrs = {{3, {0.004, 0.001}}};
  check_rmsprop(ctx, "", {.lr = 0.01, .momentum = 0.8, .centered = true}, run);
}

VKT_CASE("adagrad", "lr_decay") {
  check_adagrad(ctx, "defaults", {.lr = 0.1});
  check_adagrad(ctx, "lr_decay", {.lr = 0.1, .lr_decay = 0.3});
  check_adagrad(ctx, "initial_accumulator_weight_decay",
                {.lr = 0.1,
                 .lr_decay = 0.05,
                 .weight_decay = 0.1,
                 .initial_accumulator_value = 0.5,
                 .maximize = true});
}

VKT_CASE("adagrad", "param_groups_and_set_lr") {
  Run run;
  run.groups = {{{1}, 0.3, 0.05}, {{0, 2}, std::nullopt, std::nullopt}};
  run.set_lrs = {{4, {0.05, 0.2}}};
  check_adagrad(ctx, "", {.lr = 0.1, .lr_decay = 0.1}, run);
}

VKT_CASE("adadelta", "plain") {
  check_adadelta(ctx, "defaults", {});
  check_adadelta(ctx, "rho_eps", {.lr = 0.5, .rho = 0.5, .eps = 1e-4});
  check_adadelta(ctx, "weight_decay_maximize", {.weight_decay = 0.5, .maximize = true});
}

VKT_CASE("adadelta", "param_groups_and_set_lr") {
  Run run;
  run.groups = {{{0}, 2.0, 0.2}, {{1, 2}, std::nullopt, std::nullopt}};
  run.set_lrs = {{2, {0.5, 1.5}}};
  check_adadelta(ctx, "", {}, run);
}

VKT_CASE("rmsprop", "capture_replay") {
  check_capture(ctx, "rmsprop",
                maker<optim::RMSprop>(optim::RMSpropOptions{
                    .weight_decay = 0.01, .momentum = 0.9, .centered = true}));
  check_capture(ctx, "adagrad",
                maker<optim::Adagrad>(optim::AdagradOptions{.lr = 0.1, .lr_decay = 0.1}));
  check_capture(ctx, "adadelta", maker<optim::Adadelta>(optim::AdadeltaOptions{}));
}

VKT_CASE("rmsprop", "bad_arguments") {
  std::vector<optim::ParamRef> params{{"w", ctx.poisoned({5}), ctx.poisoned({5})}};
  ctx.check_error("rmsprop_lr", [&] { optim::RMSprop o(params, {.lr = -0.01}); },
                  {"RMSprop", "learning rate"});
  ctx.check_error("rmsprop_alpha", [&] { optim::RMSprop o(params, {.alpha = -0.9}); },
                  {"RMSprop", "alpha"});
  ctx.check_error("rmsprop_momentum", [&] { optim::RMSprop o(params, {.momentum = -1}); },
                  {"RMSprop", "momentum"});
  ctx.check_error("rmsprop_eps", [&] { optim::RMSprop o(params, {.eps = -1}); },
                  {"RMSprop", "epsilon"});
  ctx.check_error("adagrad_lr_decay", [&] { optim::Adagrad o(params, {.lr_decay = -0.1}); },
                  {"Adagrad", "lr_decay"});
  ctx.check_error("adagrad_accumulator",
                  [&] { optim::Adagrad o(params, {.initial_accumulator_value = -1}); },
                  {"Adagrad", "initial_accumulator_value"});
  ctx.check_error("adadelta_rho", [&] { optim::Adadelta o(params, {.rho = 1.5}); },
                  {"Adadelta", "rho", "[0, 1]"});
  ctx.check_error("adadelta_weight_decay", [&] { optim::Adadelta o(params, {.weight_decay = -1}); },
                  {"Adadelta", "weight_decay"});
  ctx.check_error("adadelta_shape",
                  [&] {
                    optim::Adadelta o({{"b", ctx.poisoned({5}), ctx.poisoned({5, 1})}});
                  },
                  {"Adadelta", "'b'", "(5,)", "(5, 1)"});
}

// 70,020 elements: on CPU devices the update kernels' windowed variants take two dispatches or
// more, the last partial (lib/ops/launch.cpp: dispatch_fours). Options without weight decay: at
// this size an L2 term that nearly cancels a gradient somewhere turns Adam's and RMSprop's
// g/√v into a sign test, which float32 and the float64 reference may answer differently.
VKT_CASE("rmsprop", "windowed_dispatches") {
  Run run;
  run.shapes = {{5, 14004}};
  check_rmsprop(ctx, "", {.lr = 0.005, .momentum = 0.9}, run);
}
VKT_CASE("adagrad", "windowed_dispatches") {
  Run run;
  run.shapes = {{5, 14004}};
  check_adagrad(ctx, "", {.lr = 0.1}, run);
}
VKT_CASE("adadelta", "windowed_dispatches") {
  Run run;
  run.shapes = {{5, 14004}};
  check_adadelta(ctx, "", {}, run);
}
