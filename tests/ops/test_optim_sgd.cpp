// torch.optim.SGD: plain, momentum, dampening, Nesterov, weight decay, maximize, parameter groups
// and rate changes, against a float64 model of torch's update; capture/replay; argument errors.
// Kernel exercised: optim_sgd.
#include <algorithm>

#include "test_optim_harness.hpp"

using namespace vkt;
using namespace vkt::conformance;
using namespace vkt::conformance::optim_test;

namespace {

// torch.optim.SGD's update of one parameter.
Update sgd_update(const optim::SGDOptions& o) {
  return [o](RefParam& p, const std::vector<float>& grad, int64_t t, double lr, double wd) {
    for (size_t i = 0; i < p.value.size(); ++i) {
      double g = o.maximize ? -double(grad[i]) : double(grad[i]);
      if (wd != 0) g += wd * p.value[i];
      if (o.momentum != 0) {
        double& b = p.buffers["momentum_buffer"][i];
        b = t == 1 ? g : o.momentum * b + (1 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * b : b;
      }
      p.value[i] -= lr * g;
    }
  };
}

void check_sgd(Context& ctx, const std::string& label, const optim::SGDOptions& options,
               Run run = {}) {
  run.lr = *options.lr;
  run.weight_decay = options.weight_decay;
  if (options.momentum != 0) run.buffers = {{"momentum_buffer", 0.0f}};
  check_optimizer(
      ctx, label, run,
      [&](std::vector<optim::ParamGroup> groups) {
        return std::make_unique<optim::SGD>(std::move(groups), options);
      },
      sgd_update(options));
}

}  // namespace

VKT_CASE("sgd", "plain") {
  check_sgd(ctx, "", {.lr = 0.1});
}

VKT_CASE("sgd", "momentum") {
  check_sgd(ctx, "undamped", {.lr = 0.1, .momentum = 0.9});
  check_sgd(ctx, "dampening", {.lr = 0.1, .momentum = 0.8, .dampening = 0.3});
}

VKT_CASE("sgd", "nesterov") {
  check_sgd(ctx, "", {.lr = 0.05, .momentum = 0.9, .nesterov = true});
}

VKT_CASE("sgd", "weight_decay_maximize") {
  check_sgd(ctx, "weight_decay", {.lr = 0.1, .weight_decay = 0.05});
  check_sgd(ctx, "momentum_weight_decay", {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
  check_sgd(ctx, "maximize", {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.02, .maximize = true});
}

VKT_CASE("sgd", "param_groups_and_set_lr") {
  // Weights decayed at their own rate, the bias and the single element without decay; rates
  // changed between steps, per group and for all groups.
  Run run;
  run.groups = {{{0, 1}, 0.05, 0.01}, {{2}, std::nullopt, 0.0}};
  run.set_lrs = {{3, {0.02, 0.2}}, {5, {0.01, 0.01}}};
  check_sgd(ctx, "", {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1}, run);
}

VKT_CASE("sgd", "capture_replay") {
  check_capture(ctx, "plain", [](std::vector<optim::ParamGroup> groups) {
    return std::make_unique<optim::SGD>(std::move(groups), optim::SGDOptions{.lr = 0.1});
  });
  check_capture(ctx, "nesterov", [](std::vector<optim::ParamGroup> groups) {
    return std::make_unique<optim::SGD>(
        std::move(groups),
        optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  });
}

VKT_CASE("sgd", "bad_arguments") {
  Tensor value = ctx.poisoned({7, 13});
  std::vector<optim::ParamRef> params{{"w", value, ctx.poisoned({7, 13})}};
  auto make = [&](optim::SGDOptions options) { optim::SGD optimizer(params, options); };
  ctx.check_error("negative_lr", [&] { make({.lr = -0.1}); }, {"SGD", "learning rate", "-0.1"});
  ctx.check_error("no_lr", [&] { make({}); }, {"SGD", "learning rate is required"});
  ctx.check_error("negative_momentum", [&] { make({.lr = 0.1, .momentum = -0.5}); },
                  {"SGD", "momentum", "-0.5"});
  ctx.check_error("negative_weight_decay", [&] { make({.lr = 0.1, .weight_decay = -1}); },
                  {"SGD", "weight_decay"});
  ctx.check_error("nesterov_without_momentum", [&] { make({.lr = 0.1, .nesterov = true}); },
                  {"SGD", "Nesterov", "momentum"});
  ctx.check_error("nesterov_with_dampening",
                  [&] { make({.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
                  {"SGD", "Nesterov", "dampening"});
  ctx.check_error("shape_mismatch",
                  [&] {
                    optim::SGD optimizer({{"w", value, ctx.poisoned({13, 7})}}, {.lr = 0.1});
                  },
                  {"SGD", "'w'", "(7, 13)", "(13, 7)"});
  ctx.check_error(
      "duplicate_name",
      [&] {
        optim::SGD optimizer({params[0], {"w", ctx.poisoned({2}), ctx.poisoned({2})}}, {.lr = 0.1});
      },
      {"SGD", "'w'", "more than once"});
  ctx.check_error("shared_tensor",
                  [&] {
                    optim::SGD optimizer(
                        {optim::ParamGroup{params, {}, {}},
                         optim::ParamGroup{{{"v", value, ctx.poisoned({7, 13})}}, {}, {}}},
                        {.lr = 0.1});
                  },
                  {"SGD", "'v'", "one group only"});
  ctx.check_error("set_lr_while_capturing",
                  [&] {
                    optim::SGD optimizer(params, {.lr = 0.1});
                    (void)ctx.device.scheduler().capture([&] { optimizer.set_lr(0.5); });
                  },
                  {"SGD", "set_lr", "capture"});
}

VKT_CASE("sgd", "zero_grad_groups_and_settings") {
  std::vector<float> grad = ctx.uniform(91);
  optim::ParamRef w{"w", ctx.upload(ctx.uniform(91), {7, 13}), ctx.upload(grad, {7, 13})};
  optim::ParamRef b{"b", ctx.upload(ctx.uniform(7), {7}), ctx.upload(ctx.uniform(7), {7})};
  optim::SGD sgd({{{w}, {}, {}}, {{b}, 0.5, 0.0}},
                 {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  // Overrides resolved per group.
  bool resolved = sgd.group(0).lr == 0.1 && sgd.group(0).weight_decay == 1e-4 &&
                  sgd.group(1).lr == 0.5 && sgd.group(1).weight_decay == 0.0 &&
                  sgd.num_groups() == 2 && sgd.lr(1) == 0.5;
  ctx.check_that("groups_resolved", resolved, 0, 0);
  // The capture signature ignores rates but not settings or the instance.
  std::string before = sgd.settings();
  sgd.set_lr(0.05);
  bool rates_ignored = sgd.settings() == before && sgd.lr(0) == 0.05 && sgd.lr(1) == 0.05;
  optim::SGD other({{{w}, {}, {}}, {{b}, 0.5, 0.0}},
                   {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  optim::SGD nesterov({w}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  ctx.check_that("settings",
                 rates_ignored && other.settings() != before &&
                     nesterov.settings().find("nesterov=1") != std::string::npos,
                 0, 0, before);
  // initial_lrs: recorded once, from the rates of that moment.
  std::vector<double> initial = sgd.initial_lrs();
  sgd.set_lr(1, 0.7);
  ctx.check_that("initial_lrs",
                 initial == std::vector<double>{0.05, 0.05} && sgd.initial_lrs() == initial,
                 initial[0], 0.05);
  sgd.zero_grad();
  std::vector<float> zeros_w = w.grad.to_host(), zeros_b = b.grad.to_host();
  bool zero = std::all_of(zeros_w.begin(), zeros_w.end(), [](float v) { return v == 0.0f; }) &&
              std::all_of(zeros_b.begin(), zeros_b.end(), [](float v) { return v == 0.0f; });
  ctx.check_that("zero_grad", zero, 0, 0);
  ctx.check_error("bad_group", [&] { sgd.set_lr(2, 0.1); }, {"SGD", "group 2 of 2"});
  ctx.check_error("bad_rate", [&] { sgd.set_lr(-1.0); }, {"SGD", "set_lr", "-1"});
}

// 70,020 elements: on CPU devices the update kernels' windowed variants take two dispatches or
// more, the last partial (lib/ops/launch.cpp: dispatch_fours). Options without weight decay: at
// this size an L2 term that nearly cancels a gradient somewhere turns Adam's and RMSprop's
// g/√v into a sign test, which float32 and the float64 reference may answer differently.
VKT_CASE("sgd", "windowed_dispatches") {
  Run run;
  run.shapes = {{5, 14004}};
  check_sgd(ctx, "", {.lr = 0.1, .momentum = 0.9}, run);
}
