// The hook for whole training steps (forward, backward, optimizer update of a model).
//
// The trainer (samples/trainer) is being written; when a model's step can be built from a library
// call, time it here like a kernel — build the model and a batch, capture one step with
// Scheduler::capture, then measure(device, [&] { scheduler.replay(step); }, options) — and push a
// TrainingStepResult{name, batch, timing}. main.cpp prints them and writes "training_steps" in the
// JSON (samples/s per step); nothing else needs to change.
#include "bench.hpp"

namespace vkt::bench {

std::vector<TrainingStepResult> run_training_steps(const Device& device, const Options& options) {
  (void)device;
  (void)options;
  return {};
}

}  // namespace vkt::bench
