// Learning-rate schedules with torch.optim.lr_scheduler's closed forms; they set the optimizer's
// rates on the host, which uploads them to the device tensor the update kernels read.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "optim/optim_internal.hpp"

namespace vkt::optim {

using detail::number;

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(&optimizer), base_lrs_(optimizer.initial_lrs()) {}

void LRScheduler::apply() {
  std::vector<double> rates(base_lrs_.size());
  for (size_t g = 0; g < rates.size(); ++g) rates[g] = lr_at(epoch_, base_lrs_[g]);
  optimizer_->set_lrs(rates);
}

void LRScheduler::step() {
  ++epoch_;
  apply();
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> rates(optimizer_->num_groups());
  for (size_t g = 0; g < rates.size(); ++g) rates[g] = optimizer_->lr(g);
  return rates;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  VKT_REQUIRE(step_size >= 1, "StepLR", "step_size " + std::to_string(step_size) + " must be >= 1");
  VKT_REQUIRE(gamma >= 0 && std::isfinite(gamma), "StepLR",
              "invalid gamma " + number(gamma) + " (must be >= 0)");
  apply();
}

double StepLR::lr_at(int64_t epoch, double base_lr) const {
  return base_lr * std::pow(gamma_, double(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  VKT_REQUIRE(gamma >= 0 && std::isfinite(gamma), "MultiStepLR",
              "invalid gamma " + number(gamma) + " (must be >= 0)");
  // torch counts milestones in a multiset: order does not matter, repeats decay again.
  std::sort(milestones_.begin(), milestones_.end());
  apply();
}

double MultiStepLR::lr_at(int64_t epoch, double base_lr) const {
  auto passed =
      std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr * std::pow(gamma_, double(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer), gamma_(gamma) {
  VKT_REQUIRE(gamma >= 0 && std::isfinite(gamma), "ExponentialLR",
              "invalid gamma " + number(gamma) + " (must be >= 0)");
  apply();
}

double ExponentialLR::lr_at(int64_t epoch, double base_lr) const {
  return base_lr * std::pow(gamma_, double(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  VKT_REQUIRE(t_max >= 1, "CosineAnnealingLR", "T_max " + std::to_string(t_max) + " must be >= 1");
  VKT_REQUIRE(eta_min >= 0 && std::isfinite(eta_min), "CosineAnnealingLR",
              "invalid eta_min " + number(eta_min) + " (must be >= 0)");
  apply();
}

double CosineAnnealingLR::lr_at(int64_t epoch, double base_lr) const {
  double phase = std::numbers::pi * double(epoch) / double(t_max_);
  return eta_min_ + (base_lr - eta_min_) * (1 + std::cos(phase)) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor,
                   int64_t total_iters)
    : LRScheduler(optimizer),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  VKT_REQUIRE(start_factor > 0 && start_factor <= 1, "LinearLR",
              "start_factor " + number(start_factor) + " must be in (0, 1]");
  VKT_REQUIRE(end_factor >= 0 && end_factor <= 1, "LinearLR",
              "end_factor " + number(end_factor) + " must be in [0, 1]");
  VKT_REQUIRE(total_iters >= 1, "LinearLR",
              "total_iters " + std::to_string(total_iters) + " must be >= 1");
  apply();
}

double LinearLR::lr_at(int64_t epoch, double base_lr) const {
  double progress = double(std::min(epoch, total_iters_)) / double(total_iters_);
  return base_lr * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

SequentialLR::SequentialLR(Optimizer& optimizer,
                           std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer),
      schedulers_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  const char* op = "SequentialLR";
  VKT_REQUIRE(!schedulers_.empty(), op, "no schedulers given");
  VKT_REQUIRE(milestones_.size() + 1 == schedulers_.size(), op,
              std::to_string(schedulers_.size()) + " schedulers need " +
                  std::to_string(schedulers_.size() - 1) + " milestones, got " +
                  std::to_string(milestones_.size()));
  for (size_t i = 0; i < schedulers_.size(); ++i)
    VKT_REQUIRE(schedulers_[i] && &schedulers_[i]->optimizer() == &optimizer, op,
                "scheduler " + std::to_string(i) + " drives another optimizer (or is null)");
  for (size_t i = 0; i < milestones_.size(); ++i)
    VKT_REQUIRE(milestones_[i] >= 1 && (i == 0 || milestones_[i] > milestones_[i - 1]), op,
                "milestones must be positive and increasing, got " +
                    std::to_string(milestones_[i]) + " at index " + std::to_string(i));
  // The children set their own epoch-0 rates when built; this sets the sequence's.
  apply();
}

double SequentialLR::lr_at(int64_t epoch, double base_lr) const {
  size_t index =
      size_t(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
  int64_t start = index == 0 ? 0 : milestones_[index - 1];
  return schedulers_[index]->lr_at(epoch - start, base_lr);
}

}  // namespace vkt::optim
