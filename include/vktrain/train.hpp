// Training helpers: whole-step capture and early stopping.
//
// StepCapture records one whole training step — forward, loss, backward, optimizer update — once,
// and replays it for every following batch with no command recording on the host. This is valid
// because everything that changes from step to step lives on the device: the batch (uploaded into
// the same input tensors before each run), dropout and noise step counters, BatchNorm's running
// statistics and num_batches_tracked, and the optimizer's step count and learning rate. What the
// recorded commands bake in invalidates a capture, and run() detects it through a signature:
//   - input shapes (a smaller last batch),
//   - the modules: their types, settings, train()/eval() modes and parameter tensors,
//   - the optimizer's settings other than the learning rate (momentum, betas, weight decay, ...).
// A changed signature re-captures (counted in captures()), so results stay correct.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vktrain/nn.hpp"
#include "vktrain/scheduler.hpp"

namespace vkt::train {

// The parts of a step that a capture bakes in, as text: equal signatures can share a capture.
std::string step_signature(const nn::Module& model, const std::vector<Shape>& input_shapes,
                           const std::string& optimizer_settings);

class StepCapture {
 public:
  explicit StepCapture(Device device) : device_(std::move(device)) {}
  // Runs one step: replays the capture made for `signature`, or first captures `body` (which
  // records the step without running it) and then replays it. With autotuning on
  // (Device::autotune), the first step of a new signature runs `body` eagerly instead, so that its
  // kernels are tuned before they are baked into a capture.
  void run(const std::string& signature, const std::function<void()>& body);
  void invalidate();
  uint64_t captures() const { return captures_; }
  uint64_t replays() const { return replays_; }
  // Dispatches and barriers of the current capture.
  const Sequence* sequence() const { return sequence_ ? &*sequence_ : nullptr; }

 private:
  Device device_;
  std::optional<Sequence> sequence_;
  std::string signature_;
  std::string eager_signature_;  // the signature whose first step ran eagerly (autotuning)
  uint64_t captures_ = 0, replays_ = 0;
};

// Stops training after `patience` epochs without improvement of a validation metric, keeping a copy
// of the best weights and buffers on the device (no host round trip).
class EarlyStopping {
 public:
  enum class Mode { max, min };  // max for accuracy, min for loss
  explicit EarlyStopping(int patience, Mode mode = Mode::max, double min_delta = 0.0);
  // Records this epoch's metric; returns true when training should stop.
  bool update(double metric, const nn::Module& model);
  // Copies the best state back into the model.
  void restore_best(const nn::Module& model) const;
  bool has_best() const { return !best_state_.empty(); }
  double best() const { return best_; }
  int best_epoch() const { return best_epoch_; }
  int epochs_without_improvement() const { return bad_epochs_; }

 private:
  int patience_;
  Mode mode_;
  double min_delta_;
  double best_ = 0;
  int epoch_ = -1, best_epoch_ = -1, bad_epochs_ = 0;
  NamedTensors best_state_;
};

}  // namespace vkt::train
