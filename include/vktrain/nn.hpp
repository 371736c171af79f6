// Modules with PyTorch's semantics: parameters and buffers with PyTorch's state-dict names,
// train()/eval() applied recursively, Sequential containers.
//
//   auto model = std::make_shared<nn::Sequential>();
//   model->add(std::make_shared<nn::Linear>(device, 784, 256));
//   model->add(std::make_shared<nn::ReLU>());
//   nn::Variable logits = (*model)(nn::Variable(batch));
//
// Parameters are Variables requiring gradients; their .grad tensors persist for the optimizer
// (parameters() gives optim::ParamRef-ready name/value/grad triples). Buffers (BatchNorm's
// running_mean, running_var, num_batches_tracked) are plain tensors updated on the device.
// Initial weights are drawn on the GPU from Philox streams keyed by nn::manual_seed(), so the same
// seed gives the same weights on every device.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vktrain/autograd.hpp"
#include "vktrain/checkpoint.hpp"
#include "vktrain/functional.hpp"

namespace vkt::nn {

using NamedVariables = std::vector<std::pair<std::string, Variable>>;

class Module {
 public:
  virtual ~Module() = default;
  virtual Variable forward(const Variable& x) = 0;
  Variable operator()(const Variable& x) { return forward(x); }
  // PyTorch's class name, for printing ("Linear", "BatchNorm2d", ...).
  virtual std::string type_name() const = 0;

  // Sets training mode here and in every submodule (eval() = train(false)).
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Recursive, with dotted PyTorch names ("0.weight", "features.1.running_mean").
  NamedVariables named_parameters() const;
  NamedTensors named_buffers() const;
  // State outside PyTorch's state dict that a training checkpoint must keep to resume exactly:
  // the on-device step counters of dropout and noise layers ("2.step").
  NamedTensors named_extra_state() const;
  // Parameters and buffers: what a checkpoint of the model holds.
  NamedTensors state_dict() const;
  void save(const std::filesystem::path& path) const;
  void load(const std::filesystem::path& path);
  void zero_grad() const;
  // A one-line-per-module description.
  std::string describe(int indent = 0) const;
  // Everything a captured training step bakes in: types, settings, train()/eval() modes, and the
  // identity and shape of every parameter and buffer (train::StepCapture compares these).
  std::string signature() const;

 protected:
  const Variable& register_parameter(std::string name, Variable parameter);
  const Tensor& register_buffer(std::string name, Tensor buffer);
  const Tensor& register_extra_state(std::string name, Tensor state);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    children_.emplace_back(std::move(name), module);
    return module;
  }
  // Called by train(); modules with mode-dependent state may override.
  virtual void on_mode_change() {}
  virtual std::string extra_description() const { return ""; }

  std::vector<std::pair<std::string, Variable>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, Tensor>> extra_state_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;

 private:
  bool training_ = true;
};

// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
// A BatchNorm directly followed by a ReLU runs as one fused
// pass (BatchNorm::forward_relu): same numbers, bit for bit, one pass over the activations fewer
// each way; the pre-activation is never materialized. A Linear directly followed by a ReLU runs
// the ReLU in the matmul's epilogue (Linear::forward_relu; one pass fewer forward), and a Dropout
// right after that too (Linear::forward_relu_dropout; two passes fewer forward, one backward).
// fuse(false) runs every child on its own.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  Sequential& add(std::shared_ptr<Module> module);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return children_.size(); }
  std::shared_ptr<Module> operator[](size_t index) const { return children_.at(index).second; }
  Sequential& fuse(bool on) {
    fuse_ = on;
    return *this;
  }
  bool fused() const { return fuse_; }

 private:
  bool fuse_ = true;
};

// y = x·Wᵀ + b. PyTorch's default initialisation: W and b uniform in ±1/√in_features.
class Linear : public Module {
 public:
  Linear(const Device& device, int64_t in_features, int64_t out_features, bool bias = true);
  Variable forward(const Variable& x) override;
  // forward followed by ReLU in one pass (the matmul's epilogue); Sequential uses it.
  Variable forward_relu(const Variable& x);
  // forward, ReLU, then `dropout` (its mode, parameters and step) in one pass: the same numbers
  // as the three modules in turn (F::linear_relu_dropout); Sequential uses it.
  Variable forward_relu_dropout(const Variable& x, const class Dropout& dropout);
  std::string type_name() const override { return "Linear"; }
  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }
  // Regularizers on the weight, active in train() only: DropConnect (each weight dropped with
  // probability p, the mask shared by the batch) and additive Gaussian weight noise N(0, sigma²).
  Linear& drop_connect(float p);
  Linear& weight_noise(float sigma);

 protected:
  std::string extra_description() const override;

 private:
  Variable affine(const Variable& x, bool relu, const class Dropout* dropout = nullptr);
  int64_t in_features_, out_features_;
  Variable weight_, bias_;
  DropoutParams drop_connect_{0.0f};
  NoiseParams weight_noise_{0.0f};
  Tensor weight_step_;
};

// (N, ...) -> (N, -1)
class Flatten : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Flatten"; }
};

// Conv2d with PyTorch's default initialisation (weight and bias uniform in ±1/√fan_in).
class Conv2d : public Module {
 public:
  Conv2d(const Device& device, int64_t in_channels, int64_t out_channels, int kernel_size,
         Conv2dParams params = {}, bool bias = true);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Conv2d"; }
  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }

 protected:
  std::string extra_description() const override;

 private:
  int64_t in_channels_, out_channels_;
  int kernel_size_;
  Conv2dParams params_;
  Variable weight_, bias_;
};

// BatchNorm1d (N, C) / (N, C, L) and BatchNorm2d (N, C, H, W): weight = 1, bias = 0, buffers
// running_mean = 0, running_var = 1, num_batches_tracked = 0; momentum empty = cumulative average.
class BatchNorm : public Module {
 public:
  BatchNorm(const Device& device, int64_t num_features, int spatial_dims, float eps = 1e-5f,
            std::optional<float> momentum = 0.1f, bool affine = true,
            bool track_running_stats = true);
  Variable forward(const Variable& x) override;
  // relu(forward(x)) in one pass (BatchNormOptions::relu).
  Variable forward_relu(const Variable& x);
  std::string type_name() const override { return spatial_dims_ == 2 ? "BatchNorm2d" : "BatchNorm1d"; }
  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  const Tensor& num_batches_tracked() const { return num_batches_tracked_; }
  float eps() const { return eps_; }

 protected:
  std::string extra_description() const override;

 private:
  Variable normalize(const Variable& x, bool relu);

  int64_t num_features_;
  int spatial_dims_;
  float eps_;
  std::optional<float> momentum_;
  Variable weight_, bias_;
  Tensor running_mean_, running_var_, num_batches_tracked_;
};
class BatchNorm1d : public BatchNorm {
 public:
  BatchNorm1d(const Device& device, int64_t num_features, float eps = 1e-5f,
              std::optional<float> momentum = 0.1f, bool affine = true, bool track_running_stats = true)
      : BatchNorm(device, num_features, 1, eps, momentum, affine, track_running_stats) {}
};
class BatchNorm2d : public BatchNorm {
 public:
  BatchNorm2d(const Device& device, int64_t num_features, float eps = 1e-5f,
              std::optional<float> momentum = 0.1f, bool affine = true, bool track_running_stats = true)
      : BatchNorm(device, num_features, 2, eps, momentum, affine, track_running_stats) {}
};

class LayerNorm : public Module {
 public:
  LayerNorm(const Device& device, Shape normalized_shape, float eps = 1e-5f, bool affine = true);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "LayerNorm"; }

 private:
  Shape normalized_shape_;
  float eps_;
  Variable weight_, bias_;
};

class GroupNorm : public Module {
 public:
  GroupNorm(const Device& device, int64_t num_groups, int64_t num_channels, float eps = 1e-5f,
            bool affine = true);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "GroupNorm"; }

 private:
  int64_t num_groups_;
  float eps_;
  Variable weight_, bias_;
};

// Inverted dropout: active in train(), the identity in eval(). Masks come from the Philox stream
// (nn::initial_seed(), a stream of its own, the layer's on-device step counter).
class Dropout : public Module {
 public:
  Dropout(const Device& device, float p = 0.5f);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Dropout"; }
  float p() const { return params_.p; }
  // Its parameters as forward uses them (training = this module's mode) and its step counter:
  // what a layer that runs this dropout in its own pass needs (Linear::forward_relu_dropout).
  DropoutParams params() const {
    DropoutParams params = params_;
    params.training = training();
    return params;
  }
  const Tensor& step() const { return step_; }

 protected:
  std::string extra_description() const override;

 private:
  DropoutParams params_;
  Tensor step_;
};

// Additive Gaussian noise N(0, sigma²) in training (a regularizer on inputs or activations).
class GaussianNoise : public Module {
 public:
  GaussianNoise(const Device& device, float sigma);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "GaussianNoise"; }

 private:
  NoiseParams params_;
  Tensor step_;
};

// ReLU, LeakyReLU, ELU, Sigmoid, Tanh, GELU.
class Activation : public Module {
 public:
  explicit Activation(ActivationKind kind, std::optional<float> param = {})
      : kind_(kind), param_(param) {}
  Variable forward(const Variable& x) override { return F::activation(x, kind_, param_); }
  std::string type_name() const override;
  ActivationKind kind() const { return kind_; }

 private:
  ActivationKind kind_;
  std::optional<float> param_;
};
class ReLU : public Activation {
 public:
  ReLU() : Activation(ActivationKind::relu) {}
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int kernel, int stride = 0, int padding = 0)
      : params_(pool2d_params(kernel, stride, padding)) {}
  Variable forward(const Variable& x) override { return F::max_pool2d(x, params_); }
  std::string type_name() const override { return "MaxPool2d"; }

 private:
  Pool2dParams params_;
};
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int kernel, int stride = 0, int padding = 0)
      : params_(pool2d_params(kernel, stride, padding)) {}
  Variable forward(const Variable& x) override { return F::avg_pool2d(x, params_); }
  std::string type_name() const override { return "AvgPool2d"; }

 private:
  Pool2dParams params_;
};
// AdaptiveAvgPool2d(1).
class GlobalAvgPool2d : public Module {
 public:
  Variable forward(const Variable& x) override { return F::global_avg_pool2d(x); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
};

// The seed of the generator that initial weights and dropout masks draw their Philox streams from:
// each module created afterwards takes the next stream, so construction order fixes the weights.
void manual_seed(uint64_t seed);
uint64_t initial_seed();
// The next stream id of the current generator (used by modules at construction).
uint32_t next_stream();

// Initialisation (torch.nn.init), drawn on the GPU from the current generator's next stream.
namespace init {
enum class FanMode { fan_in, fan_out };
// torch.nn.init.calculate_gain: "linear", "conv2d", "sigmoid" 1; "tanh" 5/3; "relu" √2;
// "leaky_relu" √(2/(1 + slope²)); "selu" 3/4.
float calculate_gain(const std::string& nonlinearity, float param = 0.01f);
// (fan_in, fan_out) of a weight (out, in, k...) : in·k..., out·k...
std::pair<int64_t, int64_t> fans(const Shape& shape);
void uniform(const Tensor& tensor, float lo, float hi);
void normal(const Tensor& tensor, float mean, float std);
void kaiming_uniform(const Tensor& tensor, float a = 0.0f, FanMode mode = FanMode::fan_in,
                     const std::string& nonlinearity = "leaky_relu");
void kaiming_normal(const Tensor& tensor, float a = 0.0f, FanMode mode = FanMode::fan_in,
                    const std::string& nonlinearity = "leaky_relu");
void xavier_uniform(const Tensor& tensor, float gain = 1.0f);
void xavier_normal(const Tensor& tensor, float gain = 1.0f);
}  // namespace init

}  // namespace vkt::nn
