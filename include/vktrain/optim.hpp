// Optimizers, weight penalties, gradient clipping, max-norm constraints and learning-rate
// schedules.
//
// The optimizers follow torch.optim's documented algorithms (SGD, Adam, AdamW, RMSprop, Adagrad,
// Adadelta) with torch's defaults, argument checks and state names. A parameter is a ParamRef: a
// float32 value tensor and its gradient of the same shape. Parameters come in groups that may
// override the learning rate and weight decay (no decay on biases and normalization γ/β):
//
//   optim::ParamGroup decayed{weights}, plain{biases, {}, 0.0};  // {params, lr, weight_decay}
//   optim::AdamW optimizer({decayed, plain}, {.lr = 3e-4});
//   optim::CosineAnnealingLR schedule(optimizer, epochs);
//   each batch: zero_grad, forward, backward, [penalty, clipping], optimizer.step()
//   each epoch: schedule.step()
//
// How a step runs on the device. step() records one increment of the optimizer's step counter (a
// uint32 device tensor) and then ONE kernel per parameter tensor that reads value, gradient and
// state and writes them back in a single pass. Everything that changes between steps is read on the
// device: the step count t (bias corrections, Adagrad's lr decay, SGD's first-step momentum) and
// the learning rate of each group (a float32 device tensor that set_lr() uploads). Constant
// settings (betas, eps, momentum) are push constants. A step captured once with Scheduler::capture
// therefore replays exactly like eager steps — bit for bit — and a replay after set_lr() uses the
// new rate. set_lr() during a capture is an error (the upload would be baked into the sequence).
//
// Weight decay vs weight penalties. An optimizer's `weight_decay` is torch's. For SGD, Adam,
// RMSprop, Adagrad and Adadelta it adds weight_decay·θ to the gradient inside the update kernel
// (an L2 penalty, seen through the optimizer's moment estimates). AdamW's is decoupled:
// θ ← θ − lr·wd·θ before the Adam update, independent of the gradient. Weight penalties
// (WeightPenalty below) are separate: terms of the loss (λ₂/2·‖θ‖² and λ₁·‖θ‖₁) whose gradients
// the training loop adds to the gradients before step(), with the penalty's value available on
// the device for logging the regularized loss. Use one or the other for L2, not both.
//
// Order in a training step: backward → WeightPenalty::apply → GradClipper::clip → Optimizer::step →
// apply_max_norm. All of it records without allocating, so the whole step can be captured.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vktrain/checkpoint.hpp"
#include "vktrain/tensor.hpp"

namespace vkt::nn {
class Variable;
}

namespace vkt::optim {

// A trainable tensor and its gradient: float32, same shape, same device. The name keys the
// optimizer's state ("<name>.exp_avg"); names must be unique within an optimizer.
struct ParamRef {
  std::string name;
  Tensor value;
  Tensor grad;
};

// Parameters sharing settings; unset overrides take the optimizer's option.
struct ParamGroup {
  std::vector<ParamRef> params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Records one update of every parameter: a step-counter increment, then one kernel per parameter.
  virtual void step() = 0;
  // step(), skipped on the device when `loss` (float32, one element: this step's loss) is NaN or
  // ±Inf — parameters, state and the step count stay as they were, as torch.cuda.amp.GradScaler
  // skips optimizer.step() on non-finite values — with no host round trip, so it can be captured.
  void step_if_finite(const Tensor& loss);
  // Steps step_if_finite skipped so far, and the number of the first (1-based, skipped steps
  // counted); reads back from the device.
  struct SkippedSteps {
    uint32_t count = 0, first_step = 0;
  };
  SkippedSteps skipped_steps() const;
  // Sets every gradient to zero (one fill per parameter).
  void zero_grad();

  // The learning rate of every group, or of one group; uploaded to the device tensor the kernels
  // read. lr(group) is the host copy of the last rate set.
  void set_lr(double lr);
  void set_lr(size_t group, double lr);
  void set_lrs(const std::vector<double>& lrs);  // one per group, one upload
  double lr(size_t group = 0) const;
  // The rates schedules scale (torch's group["initial_lr"]): the current rates, recorded the first
  // time this is called (by the first scheduler attached) and unchanged afterwards.
  const std::vector<double>& initial_lrs();

  size_t num_groups() const { return groups_.size(); }
  // A group's parameters and its effective lr and weight decay (overrides resolved).
  const ParamGroup& group(size_t index) const;
  // "SGD", "Adam", ...
  const std::string& name() const { return name_; }
  // Every setting a captured step bakes in (all but the learning rates), for StepCapture
  // signatures.
  virtual std::string settings() const = 0;

  // uint32 (1,): the number of steps taken; the update kernels read it.
  const Tensor& step_count() const { return step_; }
  // float32 (num_groups,): the learning rates the update kernels read.
  const Tensor& lr_tensor() const { return lr_device_; }

  // Named state tensors for checkpoints, with torch's per-parameter state names:
  // "step" (uint32, one element, shared by all parameters) and "<param>.<buffer>" with buffer one
  // of momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg, grad_avg, sum, acc_delta.
  // Loading these tensors (e.g. load_safetensors) resumes training exactly; rates are host state
  // (set them, or step the scheduler, after loading).
  NamedTensors state() const;

 protected:
  // One parameter as the update kernels see it: its group and its state buffers (same shape as
  // the value, in the order of the subclass's buffer names).
  struct Slot {
    ParamRef param;
    uint32_t group = 0;
    std::vector<Tensor> buffers;
    Tensor placeholder;  // one float of its own, bound where a variant keeps no buffer
  };

  // Checks and resolves the groups (lr required from options or every group), creates the device
  // step counter (0) and rates.
  Optimizer(std::string name, std::vector<ParamGroup> groups, std::optional<double> lr,
            double weight_decay);
  // Allocates one state buffer per parameter, filled with `initial`, named "<param>.<buffer>".
  void add_buffer(const std::string& buffer, float initial);
  // Records the step-counter increment that begins every step (in step_if_finite: the guard
  // kernel that advances it only for a finite loss).
  void advance_step_count();
  // Whether the step being recorded is guarded; the update kernels then take the GUARDED
  // specialization and bind guard() (shaders/common/optim_guard.glsl).
  bool guarded() const { return guard_loss_.defined(); }
  const Tensor& guard() const { return guard_; }
  // Throws vkt::Error "<name>: <message>" when !condition.
  void require(bool condition, const std::string& message) const;
  // The instance and each group's parameter count and weight decay, for settings().
  std::string describe_groups() const;
  // The tensor to bind for buffer `index` of a slot: the buffer, or the slot's placeholder when
  // this variant does not keep that buffer.
  const Tensor& buffer_or_placeholder(const Slot& slot, size_t index, bool used) const;

  std::vector<Slot> slots_;
  std::vector<ParamGroup> groups_;

 private:
  std::string name_;
  std::vector<std::string> buffer_names_;
  std::vector<double> lrs_;
  std::vector<double> initial_lrs_;
  Tensor step_;
  Tensor lr_device_;
  Tensor guard_;       // uint32 (3,): skip this step, steps skipped, first skipped (optim_guard.comp)
  Tensor guard_loss_;  // the loss step_if_finite is recording a step for
};

// ---- the optimizers (defaults are torch.optim's) ----

struct SGDOptions {
  std::optional<double> lr;  // required, here or in every group
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
};
// g ← ±∇ + wd·θ; with momentum μ: b ← g on the first step, else μ·b + (1 − dampening)·g, and
// g ← g + μ·b (Nesterov) or b; θ ← θ − lr·g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options);
  SGD(std::vector<ParamRef> params, const SGDOptions& options);
  void step() override;
  std::string settings() const override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;  // Adam: L2 added to the gradient; AdamW: decoupled
  bool amsgrad = false;
  bool maximize = false;
};
// AdamOptions with AdamW's default decay (a separate aggregate, so designated initializers work).
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
};
// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², v̂ = max(v̂, v) with amsgrad,
// θ ← θ − lr/(1−β₁ᵗ) · m / (√v̂ / √(1−β₂ᵗ) + eps).
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});
  Adam(std::vector<ParamRef> params, const AdamOptions& options = {});
  void step() override;
  std::string settings() const override;

 protected:
  Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options,
       bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  Tensor corrections_;  // (2·groups): each group's bias corrections this step (optim_adam_bias)
};
// Adam with decoupled weight decay: θ ← θ − lr·wd·θ, then the Adam update (no decay in g).
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options = {});
  AdamW(std::vector<ParamRef> params, const AdamWOptions& options = {});
};

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
};
// s ← αs + (1−α)g²; centered: ḡ ← αḡ + (1−α)g, d = √(s − ḡ²) + eps, else d = √s + eps;
// momentum μ > 0: b ← μb + g/d, θ ← θ − lr·b; else θ ← θ − lr·g/d.
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options = {});
  RMSprop(std::vector<ParamRef> params, const RMSpropOptions& options = {});
  void step() override;
  std::string settings() const override;

 private:
  RMSpropOptions options_;
};

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
};
// clr = lr / (1 + (t−1)·lr_decay), s ← s + g², θ ← θ − clr·g/(√s + eps).
class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options = {});
  Adagrad(std::vector<ParamRef> params, const AdagradOptions& options = {});
  void step() override;
  std::string settings() const override;

 private:
  AdagradOptions options_;
};

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0;
  bool maximize = false;
};
// s ← ρs + (1−ρ)g², Δ = √(u + eps)/√(s + eps)·g, u ← ρu + (1−ρ)Δ², θ ← θ − lr·Δ.
class Adadelta : public Optimizer {
 public:
  Adadelta(std::vector<ParamGroup> groups, const AdadeltaOptions& options = {});
  Adadelta(std::vector<ParamRef> params, const AdadeltaOptions& options = {});
  void step() override;
  std::string settings() const override;

 private:
  AdadeltaOptions options_;
};

// ---- weight penalties (terms of the loss, applied to gradients before step()) ----

struct Penalty {
  double l2 = 0;  // loss += l2/2·‖θ‖²,  grad += l2·θ
  double l1 = 0;  // loss += l1·‖θ‖₁,    grad += l1·sign(θ)   (sign(0) = 0, as torch.sign)
};

// grad += l2·θ + l1·sign(θ) for one parameter (one kernel).
void apply_penalty(const ParamRef& param, const Penalty& penalty);

// A penalty over a set of parameters (say, the weights but not the biases), with scratch allocated
// once so that apply() and compute_value() record without allocating (capturable).
class WeightPenalty {
 public:
  WeightPenalty(std::vector<ParamRef> params, const Penalty& penalty);
  // Adds the penalty's gradient to every parameter's gradient (one kernel each). With
  // `compute_value`, the same kernels also sum the penalty's value into value().
  void apply(bool compute_value = false);
  // value() ← l2/2·Σ‖θ‖² + l1·Σ‖θ‖₁ over the parameters, without touching the gradients.
  void compute_value();
  // float32 (1,): the last computed value (deterministic: a fixed order of additions).
  const Tensor& value() const { return value_; }
  const Penalty& penalty() const { return penalty_; }

 private:
  void record(bool gradients, bool value);
  std::vector<ParamRef> params_;
  Penalty penalty_;
  Tensor partials_;  // a fixed block of partial sums per parameter
  Tensor value_;
};

// ---- gradient clipping (torch.nn.utils.clip_grad_norm_) ----

// total = ‖(‖g₁‖, ‖g₂‖, ...)‖ over all gradients (norm_type 2: √Σg², 1: Σ|g|, or INFINITY:
// max|g|), computed on the device into total_norm(); then every gradient is multiplied by
// min(1, max_norm / (total + 1e-6)), read on the device. No host read-back: capturable.
class GradClipper {
 public:
  GradClipper(std::vector<Tensor> grads, double max_norm, double norm_type = 2.0);
  explicit GradClipper(const std::vector<ParamRef>& params, double max_norm,
                       double norm_type = 2.0);
  void clip();
  // float32 (1,): the total norm before clipping, from the last clip().
  const Tensor& total_norm() const { return total_; }

 private:
  std::vector<Tensor> grads_;
  double max_norm_;
  double norm_type_;
  Tensor partials_;  // a fixed block of partial sums per gradient
  Tensor total_;
};

// One-off form (allocates its scratch): clips and returns the total norm tensor.
Tensor clip_grad_norm(const std::vector<ParamRef>& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient to [-clip_value, clip_value] in place (torch.nn.utils.clip_grad_value_).
void clip_grad_value(const std::vector<ParamRef>& params, double clip_value);

// ---- dynamic loss scaling (torch.cuda.amp.GradScaler) ----

// For mixed-precision training (set_matmul_precision(device, MatmulPrecision::float16_inputs)):
// the loss is scaled before backward so that small gradients survive float16's range in the
// matmuls' inputs, and the gradients are unscaled before the step. torch's algorithm and defaults:
//
//   scaler.backward(loss);     // torch: scaler.scale(loss).backward(): gradients = scale·∂loss
//   scaler.unscale(optimizer); // optional, before clipping or penalties that must see the true
//                              // gradients (torch: scaler.unscale_(optimizer))
//   scaler.step(optimizer);    // unscales if not yet; the step is skipped if any unscaled
//                              // gradient is NaN or ±inf
//   scaler.update();           // scale ×backoff after non-finite gradients, ×growth after
//                              // growth_interval good steps in a row
//
// One optimizer per scaler (torch keeps a flag per optimizer; here one flag serves the step). The
// scale, the flag and the count stay on the device (no host round trip): a step with them can
// be captured. With the default power-of-two scale and factors, unscaling is exact: where nothing
// overflows, training follows the unscaled run bit for bit.
struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(const Device& device, GradScalerOptions options = {});
  // nn::backward(loss) seeded with the scale.
  void backward(const nn::Variable& loss) const;
  // Divides the gradients of every parameter of the optimizer by the scale, in place, noting
  // whether any came out NaN or ±inf. Once per optimizer between update()s.
  void unscale(Optimizer& optimizer);
  // unscale (unless done since the last update), then optimizer.step_if_finite: skipped
  // (parameters and state untouched, Optimizer::skipped_steps counts it) after non-finite
  // gradients.
  void step(Optimizer& optimizer);
  // Records the scale's update for the step just recorded.
  void update();
  // Read back from the device (torch: get_scale(), _growth_tracker).
  double scale() const;
  int64_t growth_tracker() const;
  // float32 (1,): the scale on the device.
  const Tensor& scale_tensor() const { return scale_; }
  // "scale" (float32 (1,)) and "growth_tracker" (uint32 (1,)), torch's state_dict names: saving
  // and loading them (with the optimizer's) resumes exactly.
  NamedTensors state() const;

 private:
  void dispatch(uint32_t mode, const Tensor& grad) const;
  GradScalerOptions options_;
  Tensor scale_;        // float32 (1,)
  Tensor counters_;     // uint32 (2,): found non-finite this step, good steps in a row
  Tensor guard_;        // float32 (1,): NaN after non-finite gradients, else 0 (step_if_finite)
  Tensor placeholder_;  // bound as the gradient by the one-invocation modes
  const Optimizer* unscaled_ = nullptr;  // unscaled since the last update()
};

// ---- max-norm constraint (after a step) ----

// For a weight (out, in...), row i (the incoming weights of unit i, as in the dropout paper) whose
// L2 norm exceeds max_norm is scaled by max_norm / (norm + 1e-7): torch.renorm(w, 2, 0, max_norm).
// One kernel, one workgroup per row.
void apply_max_norm(const Tensor& weight, double max_norm);

// ---- learning-rate schedules (host side: they call Optimizer::set_lr) ----

// torch.optim.lr_scheduler semantics with closed forms: the constructor sets the rates of epoch 0,
// step() advances one epoch and sets the rates of the new epoch, each group's rate being
// lr_at(epoch, initial rate of the group). A scheduler refers to its optimizer, which must outlive
// it. Call step() once per epoch (or per iteration, for per-iteration schedules), never inside a
// captured step: it sets rates on the host, and replays read them from the device.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  void step();
  int64_t last_epoch() const { return epoch_; }
  // The rates set last (torch's get_last_lr()).
  std::vector<double> last_lr() const;
  virtual double lr_at(int64_t epoch, double base_lr) const = 0;
  Optimizer& optimizer() const { return *optimizer_; }

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // Sets the rates of last_epoch(); derived constructors call it once they are complete.
  void apply();

 private:
  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  int64_t epoch_ = 0;
};

// lr = base·γ^⌊epoch/step_size⌋.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base·γ^(number of milestones ≤ epoch); milestones may repeat (each counts).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// lr = base·γ^epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  double gamma_;
};

// lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Warm-up: lr = base·(start + (end − start)·min(epoch, total_iters)/total_iters).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

// Schedulers in turn (torch's SequentialLR): scheduler i runs from milestones[i−1] with its epoch
// counted from there, e.g. {LinearLR warm-up, CosineAnnealingLR} with milestones {warmup_epochs}.
// All must drive the same optimizer; milestones are increasing, one fewer than schedulers.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  double lr_at(int64_t epoch, double base_lr) const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace vkt::optim
