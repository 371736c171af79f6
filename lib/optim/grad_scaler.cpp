// Dynamic loss scaling (GradScaler): the scale, the found-non-finite flag and the run of good steps
// live on the device and shaders/grad_scaler.comp updates them, so a step with it is capturable.
#include <cmath>

#include "optim/optim_internal.hpp"
#include "vktrain/autograd.hpp"

namespace vkt::optim {

using detail::number;

namespace {

constexpr const char* kOp = "GradScaler";

struct Push {
  uint32_t n;
  float growth, backoff;
  uint32_t growth_interval;
};

}  // namespace

GradScaler::GradScaler(const Device& device, GradScalerOptions options) : options_(options) {
  VKT_REQUIRE(options.init_scale > 0 && std::isfinite(float(options.init_scale)), kOp,
              "init_scale " + number(options.init_scale) + " must be positive and finite in float32");
  VKT_REQUIRE(options.growth_factor > 1.0, kOp,
              "growth_factor " + number(options.growth_factor) + " must be > 1");
  VKT_REQUIRE(options.backoff_factor > 0.0 && options.backoff_factor < 1.0, kOp,
              "backoff_factor " + number(options.backoff_factor) + " must be in (0, 1)");
  VKT_REQUIRE(options.growth_interval >= 1 && options.growth_interval <= int64_t(UINT32_MAX), kOp,
              "growth_interval " + std::to_string(options.growth_interval) + " must be >= 1");
  scale_ = Tensor::full(device, {1}, float(options.init_scale));
  counters_ = Tensor::zeros(device, {2}, DType::u32);
  guard_ = Tensor::zeros(device, {1});
  placeholder_ = Tensor::zeros(device, {1});
}

void GradScaler::backward(const nn::Variable& loss) const {
  // A copy of the scale as the seed: backward takes its seed over as the loss's gradient.
  VKT_REQUIRE(shape_numel(loss.shape()) == 1, kOp,
              "backward needs a scalar (one-element) loss, got " + shape_str(loss.shape()));
  Tensor seed = Tensor::empty(scale_.device(), loss.shape());
  copy(scale_, seed.reshape({1}));
  nn::backward(loss, seed);
}

void GradScaler::dispatch(uint32_t mode, const Tensor& grad) const {
  Push push{uint32_t(grad.numel()), float(options_.growth_factor), float(options_.backoff_factor),
            uint32_t(options_.growth_interval)};
  const Access counters = mode == 1 ? Access::read : Access::read_write;
  const Access scale = mode == 2 ? Access::read_write : Access::read;
  detail::scheduler_of(scale_).dispatch(
      {"grad_scaler", {detail::kUpdateGroup, mode}},
      {{grad, mode == 0 ? Access::read_write : Access::read}, {scale_, scale},
       {counters_, counters}, {guard_, mode == 1 ? Access::write : Access::read}},
      push, mode == 0 ? detail::grid_1d(uint64_t(grad.numel()), detail::kUpdateGroup)
                      : std::array<uint32_t, 3>{1, 1, 1});
}

void GradScaler::unscale(Optimizer& optimizer) {
  VKT_REQUIRE(unscaled_ != &optimizer, kOp,
              "unscale was already called for this optimizer since the last update()");
  for (size_t g = 0; g < optimizer.num_groups(); ++g)
    for (const ParamRef& param : optimizer.group(g).params) {
      VKT_REQUIRE(param.grad.device().shared_state() == scale_.device().shared_state(), kOp,
                  "parameter " + param.name + " lives on another device than the scaler");
      VKT_REQUIRE(param.grad.numel() <= int64_t(UINT32_MAX), kOp,
                  "gradient of " + param.name + " " + shape_str(param.grad.shape()) +
                      " has more than 2^32 - 1 elements");
      if (param.grad.numel() > 0) dispatch(0, param.grad);
    }
  dispatch(1, placeholder_);
  unscaled_ = &optimizer;
}

void GradScaler::step(Optimizer& optimizer) {
  if (unscaled_ != &optimizer) unscale(optimizer);
  optimizer.step_if_finite(guard_);
}

void GradScaler::update() {
  dispatch(2, placeholder_);
  unscaled_ = nullptr;
}

double GradScaler::scale() const { return scale_.to_host().at(0); }

int64_t GradScaler::growth_tracker() const { return counters_.to_host_u32().at(1); }

NamedTensors GradScaler::state() const {
  return {{"scale", scale_}, {"growth_tracker", counters_.narrow(1, 1)}};
}

}  // namespace vkt::optim
