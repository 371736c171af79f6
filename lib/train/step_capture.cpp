#include <sstream>

#include "core/check.hpp"
#include "vktrain/train.hpp"

namespace vkt::train {

std::string step_signature(const nn::Module& model, const std::vector<Shape>& input_shapes,
                           const std::string& optimizer_settings) {
  std::ostringstream out;
  out << "inputs";
  for (const Shape& shape : input_shapes) out << " " << shape_str(shape);
  out << "\nmodel " << model.signature() << "\noptimizer " << optimizer_settings;
  return out.str();
}

void StepCapture::run(const std::string& signature, const std::function<void()>& body) {
  Scheduler& scheduler = device_.scheduler();
  // With autotuning on, a new signature's first step runs eagerly so that its kernels can be timed
  // (nothing can be timed inside a capture); the next step with it is captured.
  if (device_.autotune() && signature != signature_ && signature != eager_signature_) {
    sequence_.reset();
    signature_.clear();
    eager_signature_ = signature;
    body();
    return;
  }
  if (!sequence_ || signature != signature_) {
    sequence_.reset();
    sequence_ = scheduler.capture(body);
    signature_ = signature;
    ++captures_;
  }
  scheduler.replay(*sequence_);
  ++replays_;
}

void StepCapture::invalidate() {
  sequence_.reset();
  signature_.clear();
}

EarlyStopping::EarlyStopping(int patience, Mode mode, double min_delta)
    : patience_(patience), mode_(mode), min_delta_(min_delta) {
  VKT_REQUIRE(patience >= 1, "EarlyStopping", "patience must be at least 1, got " + std::to_string(patience));
  VKT_REQUIRE(min_delta >= 0, "EarlyStopping", "min_delta must be >= 0");
}

bool EarlyStopping::update(double metric, const nn::Module& model) {
  ++epoch_;
  bool improved = best_state_.empty() ||
                  (mode_ == Mode::max ? metric > best_ + min_delta_ : metric < best_ - min_delta_);
  NamedTensors state = model.state_dict();
  if (improved) {
    if (best_state_.empty()) {
      for (const auto& [name, tensor] : state) best_state_.emplace_back(name, clone(tensor));
    } else {
      for (size_t i = 0; i < state.size(); ++i) copy(state[i].second, best_state_[i].second);
    }
    best_ = metric;
    best_epoch_ = epoch_;
    bad_epochs_ = 0;
    return false;
  }
  return ++bad_epochs_ >= patience_;
}

void EarlyStopping::restore_best(const nn::Module& model) const {
  VKT_REQUIRE(!best_state_.empty(), "EarlyStopping::restore_best", "no epoch was recorded yet");
  NamedTensors state = model.state_dict();
  VKT_REQUIRE(state.size() == best_state_.size(), "EarlyStopping::restore_best",
              "the model's state has changed since the best epoch was recorded");
  for (size_t i = 0; i < state.size(); ++i) copy(best_state_[i].second, state[i].second);
}

}  // namespace vkt::train
