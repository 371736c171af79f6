// Learning-rate schedules: the rates each scheduler sets over many epochs against torch's own
// recursive (chainable) formulas, for two parameter groups with different initial rates; the
// device copy the kernels read; the warm-up → cosine sequence; argument errors.
#include <cmath>
#include <cstring>
#include <functional>
#include <numbers>

#include <vktrain/optim.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// The closed forms against torch's recursions differ by double rounding only.
constexpr double kTolerance = 1e-12;

// An optimizer with two groups whose initial rates differ (each group is scaled separately).
struct Fixture {
  std::vector<optim::ParamRef> a, b;
  std::unique_ptr<optim::SGD> sgd;
  explicit Fixture(Context& ctx) {
    a = {{"a", ctx.poisoned({3}), ctx.poisoned({3})}};
    b = {{"b", ctx.poisoned({2, 2}), ctx.poisoned({2, 2})}};
    sgd = std::make_unique<optim::SGD>(std::vector<optim::ParamGroup>{{a, {}, {}}, {b, 0.01, {}}},
                                       optim::SGDOptions{.lr = 0.1});
  }
};

// torch's recursive rule: the next rate of a group from its current rate, epoch and base rate.
using Recursion = std::function<double(double lr, int64_t epoch, double base)>;

// Epoch 0 comes from the constructor; then `epochs` steps. Rates the scheduler set (last_lr and the
// optimizer's lr) against the recursion, and the device tensor against their float32 rounding.
void check_schedule(Context& ctx, optim::LRScheduler& scheduler, Fixture& f, double first_factor,
                    const Recursion& next, int epochs) {
  std::vector<double> base{0.1, 0.01};
  std::vector<double> expected{base[0] * first_factor, base[1] * first_factor};
  double worst = 0;
  int64_t worst_epoch = 0;
  std::vector<uint32_t> device_bits, host_bits;
  for (int epoch = 0; epoch <= epochs; ++epoch) {
    if (epoch > 0) {
      scheduler.step();
      for (size_t g = 0; g < 2; ++g) expected[g] = next(expected[g], epoch, base[g]);
    }
    std::vector<double> last = scheduler.last_lr();
    for (size_t g = 0; g < 2; ++g) {
      // Relative, with an absolute floor for rates that reach 0 (cosine with eta_min = 0).
      double error = std::abs(last[g] - expected[g]) / std::max(expected[g], 1e-3 * base[g]);
      if (error > worst) worst = error, worst_epoch = epoch;
    }
    std::vector<float> on_device = f.sgd->lr_tensor().to_host();
    for (size_t g = 0; g < 2; ++g) {
      uint32_t d, h;
      float host = float(f.sgd->lr(g));
      std::memcpy(&d, &on_device[g], 4);
      std::memcpy(&h, &host, 4);
      device_bits.push_back(d);
      host_bits.push_back(h);
    }
  }
  ctx.check_that("rates", worst <= kTolerance, worst, kTolerance,
                 "largest relative error, at epoch " + std::to_string(worst_epoch) + " of " +
                     std::to_string(epochs));
  ctx.check_equal("device_rates", "", device_bits, host_bits);
  ctx.check_that("last_epoch", scheduler.last_epoch() == epochs, double(scheduler.last_epoch()),
                 epochs);
}

}  // namespace

VKT_CASE("step_lr", "sequence") {
  Fixture f(ctx);
  optim::StepLR scheduler(*f.sgd, 3, 0.5);
  check_schedule(
      ctx, scheduler, f, 1.0,
      [](double lr, int64_t epoch, double) { return epoch % 3 == 0 ? lr * 0.5 : lr; }, 12);
}

VKT_CASE("multi_step_lr", "sequence") {
  Fixture f(ctx);
  // Unsorted, with a repeat: epoch 5 decays twice.
  optim::MultiStepLR scheduler(*f.sgd, {7, 2, 5, 5}, 0.1);
  check_schedule(
      ctx, scheduler, f, 1.0,
      [](double lr, int64_t epoch, double) {
        int count = (epoch == 2) + 2 * (epoch == 5) + (epoch == 7);
        return lr * std::pow(0.1, count);
      },
      10);
}

VKT_CASE("exponential_lr", "sequence") {
  Fixture f(ctx);
  optim::ExponentialLR scheduler(*f.sgd, 0.9);
  check_schedule(
      ctx, scheduler, f, 1.0, [](double lr, int64_t, double) { return lr * 0.9; }, 20);
}

namespace {
// torch.optim.lr_scheduler.CosineAnnealingLR.get_lr (its recursive form), past T_max too.
Recursion cosine_recursion(int64_t t_max, double eta_min) {
  return [=](double lr, int64_t epoch, double base) {
    double pi = std::numbers::pi;
    if ((epoch - 1 - t_max) % (2 * t_max) == 0)
      return lr + (base - eta_min) * (1 - std::cos(pi / double(t_max))) / 2;
    return (1 + std::cos(pi * double(epoch) / double(t_max))) /
               (1 + std::cos(pi * double(epoch - 1) / double(t_max))) * (lr - eta_min) +
           eta_min;
  };
}
// torch.optim.lr_scheduler.LinearLR.get_lr (recursive).
Recursion linear_recursion(double start, double end, int64_t total) {
  return [=](double lr, int64_t epoch, double) {
    if (epoch > total) return lr;
    return lr * (1 + (end - start) / (double(total) * start + double(epoch - 1) * (end - start)));
  };
}
}  // namespace

VKT_CASE("cosine_annealing_lr", "sequence") {
  Fixture f(ctx);
  // 25 epochs with T_max = 10: down to eta_min at 10, back up to the base at 20.
  optim::CosineAnnealingLR scheduler(*f.sgd, 10, 0.001);
  check_schedule(ctx, scheduler, f, 1.0, cosine_recursion(10, 0.001), 25);
}

VKT_CASE("linear_lr", "warmup") {
  Fixture f(ctx);
  optim::LinearLR scheduler(*f.sgd, 0.25, 1.0, 4);
  check_schedule(ctx, scheduler, f, 0.25, linear_recursion(0.25, 1.0, 4), 8);
  Fixture defaults(ctx);
  optim::LinearLR torch_defaults(*defaults.sgd);  // start 1/3, end 1, 5 iterations
  check_schedule(ctx, torch_defaults, defaults, 1.0 / 3, linear_recursion(1.0 / 3, 1.0, 5), 7);
}

VKT_CASE("sequential_lr", "warmup_then_cosine") {
  Fixture f(ctx);
  auto warmup = std::make_shared<optim::LinearLR>(*f.sgd, 0.1, 1.0, 3);
  auto cosine = std::make_shared<optim::CosineAnnealingLR>(*f.sgd, 8, 0.0);
  optim::SequentialLR scheduler(*f.sgd, {warmup, cosine}, {3});
  // Epochs 0-2: warm-up from 0.1·base; from epoch 3 the cosine starts at its epoch 0 (the base).
  Recursion linear = linear_recursion(0.1, 1.0, 3), cosine_next = cosine_recursion(8, 0.0);
  check_schedule(
      ctx, scheduler, f, 0.1,
      [=](double lr, int64_t epoch, double base) {
        if (epoch < 3) return linear(lr, epoch, base);
        if (epoch == 3) return base;
        return cosine_next(lr, epoch - 3, base);
      },
      14);
}

VKT_CASE("sequential_lr", "bad_arguments") {
  Fixture f(ctx);
  ctx.check_error("step_size", [&] { optim::StepLR(*f.sgd, 0); }, {"StepLR", "step_size"});
  ctx.check_error("t_max", [&] { optim::CosineAnnealingLR(*f.sgd, 0); },
                  {"CosineAnnealingLR", "T_max"});
  ctx.check_error("start_factor", [&] { optim::LinearLR(*f.sgd, 0.0); },
                  {"LinearLR", "start_factor", "(0, 1]"});
  auto warmup = std::make_shared<optim::LinearLR>(*f.sgd, 0.5, 1.0, 2);
  ctx.check_error("milestones",
                  [&] {
                    optim::SequentialLR(*f.sgd, {warmup, warmup}, {});
                  },
                  {"SequentialLR", "2 schedulers need 1 milestones, got 0"});
  Fixture other(ctx);
  auto elsewhere = std::make_shared<optim::StepLR>(*other.sgd, 2);
  ctx.check_error("other_optimizer",
                  [&] {
                    optim::SequentialLR(*f.sgd, {warmup, elsewhere}, {2});
                  },
                  {"SequentialLR", "scheduler 1", "another optimizer"});
}
