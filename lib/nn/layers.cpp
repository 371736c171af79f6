// The modules of nn.hpp: construction (PyTorch's default initialisation) and forward.
#include <cmath>
#include <sstream>

#include "core/check.hpp"
#include "vktrain/nn.hpp"

namespace vkt::nn {

namespace {
// PyTorch's default for Linear and Conv2d: kaiming_uniform(a = √5), i.e. weights and biases uniform
// in ±1/√fan_in.
Variable default_weight(const Device& device, Shape shape) {
  Tensor weight = Tensor::empty(device, shape);
  init::kaiming_uniform(weight, std::sqrt(5.0f));
  return Variable(weight, true);
}
Variable default_bias(const Device& device, int64_t size, int64_t fan_in) {
  Tensor bias = Tensor::empty(device, {size});
  float bound = fan_in > 0 ? 1.0f / std::sqrt(float(fan_in)) : 0.0f;
  init::uniform(bias, -bound, bound);
  return Variable(bias, true);
}
Tensor step_counter(const Device& device) { return Tensor::zeros(device, {1}, DType::u32); }
}  // namespace

Linear::Linear(const Device& device, int64_t in_features, int64_t out_features, bool bias)
    : in_features_(in_features), out_features_(out_features) {
  VKT_REQUIRE(in_features > 0 && out_features > 0, "Linear",
              "features must be positive, got in " + std::to_string(in_features) + ", out " +
                  std::to_string(out_features));
  weight_ = register_parameter("weight", default_weight(device, {out_features, in_features}));
  if (bias) bias_ = register_parameter("bias", default_bias(device, out_features, in_features));
}

Linear& Linear::drop_connect(float p) {
  VKT_REQUIRE(p >= 0.0f && p < 1.0f, "Linear::drop_connect", "p must be in [0, 1), got " + std::to_string(p));
  drop_connect_ = {p, initial_seed(), next_stream(), true};
  if (!weight_step_.defined())
    weight_step_ = register_extra_state("weight_step", step_counter(weight_.value().device()));
  return *this;
}

Linear& Linear::weight_noise(float sigma) {
  VKT_REQUIRE(sigma >= 0.0f, "Linear::weight_noise", "sigma must be >= 0, got " + std::to_string(sigma));
  weight_noise_ = {sigma, initial_seed(), next_stream(), true};
  if (!weight_step_.defined())
    weight_step_ = register_extra_state("weight_step", step_counter(weight_.value().device()));
  return *this;
}

Variable Linear::forward(const Variable& x) { return affine(x, false); }
Variable Linear::forward_relu(const Variable& x) { return affine(x, true); }
Variable Linear::forward_relu_dropout(const Variable& x, const Dropout& dropout) {
  return affine(x, true, &dropout);
}

Variable Linear::affine(const Variable& x, bool relu, const Dropout* dropout) {
  Variable weight = weight_;
  if (training() && drop_connect_.p > 0) weight = F::drop_connect(weight, weight_step_, drop_connect_);
  if (training() && weight_noise_.sigma > 0) weight = F::gaussian_noise(weight, weight_step_, weight_noise_);
  if (dropout) return F::linear_relu_dropout(x, weight, bias_, dropout->step(), dropout->params());
  return F::linear(x, weight, bias_, relu);
}

std::string Linear::extra_description() const {
  return "in_features=" + std::to_string(in_features_) +
         ", out_features=" + std::to_string(out_features_) + ", bias=" + (bias_.defined() ? "True" : "False");
}

Variable Flatten::forward(const Variable& x) { return F::flatten(x); }

Conv2d::Conv2d(const Device& device, int64_t in_channels, int64_t out_channels, int kernel_size,
               Conv2dParams params, bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), params_(params) {
  VKT_REQUIRE(params.groups > 0 && in_channels % params.groups == 0 && out_channels % params.groups == 0,
              "Conv2d", "in_channels " + std::to_string(in_channels) + " and out_channels " +
                            std::to_string(out_channels) + " must be divisible by groups " +
                            std::to_string(params.groups));
  weight_ = register_parameter(
      "weight", default_weight(device, {out_channels, in_channels / params.groups, kernel_size, kernel_size}));
  if (bias)
    bias_ = register_parameter(
        "bias", default_bias(device, out_channels, in_channels / params.groups * kernel_size * kernel_size));
}

Variable Conv2d::forward(const Variable& x) { return F::conv2d(x, weight_, bias_, params_); }

std::string Conv2d::extra_description() const {
  std::ostringstream out;
  out << in_channels_ << ", " << out_channels_ << ", kernel_size=(" << kernel_size_ << ", "
      << kernel_size_ << "), stride=(" << params_.stride_h << ", " << params_.stride_w << ")";
  if (params_.pad_h || params_.pad_w) out << ", padding=(" << params_.pad_h << ", " << params_.pad_w << ")";
  if (params_.groups != 1) out << ", groups=" << params_.groups;
  if (!bias_.defined()) out << ", bias=False";
  return out.str();
}

BatchNorm::BatchNorm(const Device& device, int64_t num_features, int spatial_dims, float eps,
                     std::optional<float> momentum, bool affine, bool track_running_stats)
    : num_features_(num_features), spatial_dims_(spatial_dims), eps_(eps), momentum_(momentum) {
  VKT_REQUIRE(num_features > 0, type_name(), "num_features must be positive");
  VKT_REQUIRE(eps > 0.0f, type_name(), "eps must be positive, got " + std::to_string(eps));
  VKT_REQUIRE(!momentum || (*momentum >= 0.0f && *momentum <= 1.0f), type_name(),
              "momentum must be in [0, 1] or None, got " + std::to_string(momentum.value_or(0)));
  if (affine) {
    weight_ = register_parameter("weight", Variable(Tensor::full(device, {num_features}, 1.0f), true));
    bias_ = register_parameter("bias", Variable(Tensor::zeros(device, {num_features}), true));
  }
  if (track_running_stats) {
    running_mean_ = register_buffer("running_mean", Tensor::zeros(device, {num_features}));
    running_var_ = register_buffer("running_var", Tensor::full(device, {num_features}, 1.0f));
    num_batches_tracked_ =
        register_buffer("num_batches_tracked", Tensor::zeros(device, {}, DType::u32));
  }
}

Variable BatchNorm::forward(const Variable& x) { return normalize(x, false); }
Variable BatchNorm::forward_relu(const Variable& x) { return normalize(x, true); }

Variable BatchNorm::normalize(const Variable& x, bool relu) {
  int64_t rank = x.value().dim();
  bool fits = spatial_dims_ == 2 ? rank == 4 : (rank == 2 || rank == 3);
  VKT_REQUIRE(fits && x.value().size(1) == num_features_, type_name(),
              "input " + shape_str(x.shape()) + " does not fit: expected " +
                  (spatial_dims_ == 2 ? "(N, " + std::to_string(num_features_) + ", H, W)"
                                      : "(N, " + std::to_string(num_features_) + ") or (N, " +
                                            std::to_string(num_features_) + ", L)"));
  BatchNormOptions options{eps_, momentum_, training(), relu};
  return F::batch_norm(x, weight_, bias_, running_mean_, running_var_, num_batches_tracked_, options);
}

std::string BatchNorm::extra_description() const {
  std::ostringstream out;
  out << num_features_ << ", eps=" << eps_ << ", momentum=";
  if (momentum_) out << *momentum_; else out << "None";
  out << ", affine=" << (weight_.defined() ? "True" : "False")
      << ", track_running_stats=" << (running_mean_.defined() ? "True" : "False");
  return out.str();
}

LayerNorm::LayerNorm(const Device& device, Shape normalized_shape, float eps, bool affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  // layer_norm checks eps too, but only at the first forward: report it where the mistake is made.
  VKT_REQUIRE(eps >= 0.0f, "LayerNorm", "eps must be >= 0, got " + std::to_string(eps));
  if (affine) {
    weight_ = register_parameter("weight", Variable(Tensor::full(device, normalized_shape_, 1.0f), true));
    bias_ = register_parameter("bias", Variable(Tensor::zeros(device, normalized_shape_), true));
  }
}

Variable LayerNorm::forward(const Variable& x) {
  return F::layer_norm(x, normalized_shape_, weight_, bias_, eps_);
}

GroupNorm::GroupNorm(const Device& device, int64_t num_groups, int64_t num_channels, float eps, bool affine)
    : num_groups_(num_groups), eps_(eps) {
  VKT_REQUIRE(num_groups > 0 && num_channels % num_groups == 0, "GroupNorm",
              "num_channels " + std::to_string(num_channels) + " must be divisible by num_groups " +
                  std::to_string(num_groups));
  VKT_REQUIRE(eps >= 0.0f, "GroupNorm", "eps must be >= 0, got " + std::to_string(eps));
  if (affine) {
    weight_ = register_parameter("weight", Variable(Tensor::full(device, {num_channels}, 1.0f), true));
    bias_ = register_parameter("bias", Variable(Tensor::zeros(device, {num_channels}), true));
  }
}

Variable GroupNorm::forward(const Variable& x) {
  return F::group_norm(x, num_groups_, weight_, bias_, eps_);
}

Dropout::Dropout(const Device& device, float p) {
  VKT_REQUIRE(p >= 0.0f && p <= 1.0f, "Dropout",
              "dropout probability has to be between 0 and 1, but got " + std::to_string(p));
  params_ = {p, initial_seed(), next_stream(), true};
  step_ = register_extra_state("step", step_counter(device));
}

Variable Dropout::forward(const Variable& x) {
  return F::dropout(x, step_, params());
}

std::string Dropout::extra_description() const {
  std::ostringstream out;
  out << "p=" << params_.p;
  return out.str();
}

GaussianNoise::GaussianNoise(const Device& device, float sigma) {
  VKT_REQUIRE(sigma >= 0.0f, "GaussianNoise", "sigma must be >= 0, got " + std::to_string(sigma));
  params_ = {sigma, initial_seed(), next_stream(), true};
  step_ = register_extra_state("step", step_counter(device));
}

Variable GaussianNoise::forward(const Variable& x) {
  NoiseParams params = params_;
  params.training = training();
  return F::gaussian_noise(x, step_, params);
}

std::string Activation::type_name() const {
  switch (kind_) {
    case ActivationKind::relu: return "ReLU";
    case ActivationKind::leaky_relu: return "LeakyReLU";
    case ActivationKind::elu: return "ELU";
    case ActivationKind::sigmoid: return "Sigmoid";
    case ActivationKind::tanh: return "Tanh";
    case ActivationKind::gelu:
    case ActivationKind::gelu_tanh: return "GELU";
  }
  return "Activation";
}

}  // namespace vkt::nn
