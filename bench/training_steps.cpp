// Whole training steps of the sample models (samples/trainer/models.cpp): forward, cross-entropy,
// backward and the optimizer update on one batch, as the trainer records them.
//
// Each (model, batch) is timed two ways on the same model, in alternating repetitions: eager (the
// step recorded and submitted every time, as a program without capture runs) and replayed
// (recorded once by train::StepCapture, then resubmitted). Host time per step is the calling
// thread's CPU time in one call (median over calls): what the host spends recording or replaying,
// not waiting. The replay's dispatch and barrier counts come from the captured sequence. A few more
// eager steps run under vkt::Profiler: the step's device time by kernel.
#include <time.h>

#include <algorithm>

#include "bench.hpp"
#include "models.hpp"
#include "vktrain/optim.hpp"
#include "vktrain/train.hpp"

namespace vkt::bench {

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Times the bodies with measure_interleaved() and also returns the median host CPU time of one
// call of each.
std::vector<std::pair<Timing, double>> measure_with_host(
    const Device& device, const std::vector<std::function<void()>>& bodies,
    const Options& options) {
  std::vector<std::vector<double>> host(bodies.size());
  std::vector<std::function<void()>> timed;
  for (size_t b = 0; b < bodies.size(); ++b) {
    timed.push_back([&, b] {
      double start = thread_cpu_seconds();
      bodies[b]();
      host[b].push_back(thread_cpu_seconds() - start);
    });
  }
  std::vector<Timing> timings = measure_interleaved(device, timed, options);
  std::vector<std::pair<Timing, double>> results;
  for (size_t b = 0; b < bodies.size(); ++b)
    results.emplace_back(timings[b], median(std::move(host[b])));
  return results;
}

// The optimizers of the samples (samples/cnn.cpp, samples/mlp.cpp), without schedules or clipping.
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainingStepCase& c, const nn::Module& model) {
  std::vector<optim::ParamRef> params;
  for (const auto& [name, parameter] : model.named_parameters())
    params.push_back({name, parameter.value(), parameter.grad()});
  std::vector<optim::ParamGroup> groups{{params, {}, {}}};
  if (c.optimizer == "adam")
    return std::make_unique<optim::Adam>(groups, optim::AdamOptions{.lr = c.lr});
  return std::make_unique<optim::SGD>(groups, optim::SGDOptions{.lr = c.lr, .momentum = c.momentum});
}

samples::ModelConfig model_config(const TrainingStepCase& c) {
  samples::ModelConfig config;
  config.kind = c.model;
  config.dropout = c.dropout;
  config.input_dropout = c.input_dropout;
  config.conv_channels = c.conv_channels;
  config.convs_per_block = c.convs_per_block;
  return config;
}

TrainingStepResult run_case(const Device& device, const TrainingStepCase& c,
                            const Options& options) {
  nn::manual_seed(1);
  set_matmul_precision(device, c.float16_matmuls ? MatmulPrecision::float16_inputs
                                                 : MatmulPrecision::float32);
  struct Restore {
    const Device& device;
    ~Restore() { set_matmul_precision(device, MatmulPrecision::float32); }
  } restore{device};
  std::shared_ptr<nn::Sequential> model =
      samples::build_model(device, model_config(c), 1, 28, 28, 10);
  model->train();
  std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(c, *model);
  Tensor images = Tensor::from_host(device, random_values(size_t(c.batch) * 784, 7, 0.0f, 1.0f),
                                    {c.batch, 1, 28, 28});
  std::vector<int32_t> host_labels(size_t(c.batch));
  for (size_t i = 0; i < host_labels.size(); ++i) host_labels[i] = int32_t((i * 7 + 3) % 10);
  Tensor labels = Tensor::from_host(device, std::span<const int32_t>(host_labels), {c.batch});

  auto step = [&] {
    optimizer->zero_grad();
    nn::Variable logits = (*model)(nn::Variable(images));
    nn::backward(nn::F::cross_entropy(logits, labels, {}));
    optimizer->step();
  };

  TrainingStepResult result;
  result.config = c;
  // Eager and replayed steps alternate, repetition by repetition, on the same model: a drift in
  // the machine's speed cannot favour one of them.
  train::StepCapture capture(device);
  std::string signature =
      train::step_signature(*model, {images.shape()}, optimizer->settings());
  auto timings = measure_with_host(device, {step, [&] { capture.run(signature, step); }}, options);
  std::tie(result.eager, result.eager_host_s) = timings[0];
  std::tie(result.replay, result.replay_host_s) = timings[1];
  if (device.info().timestamp_queries) {
    result.profiled_steps = options.quick ? 1 : 3;
    Profiler profiler(device);
    for (int i = 0; i < result.profiled_steps; ++i) step();
    result.profile = profiler.kernels();
  }
  if (const Sequence* sequence = capture.sequence()) {
    result.dispatches = sequence->dispatches();
    result.barriers = sequence->barriers();
  }
  return result;
}

}  // namespace

std::vector<TrainingStepCase> training_step_cases(const Device& device, const Options& options) {
  // As samples/cnn.cpp and samples/mlp.cpp configure them.
  TrainingStepCase cnn{.model = "cnn", .optimizer = "adam", .lr = 2e-3, .dropout = 0.25f,
                       .conv_channels = {32, 64}, .convs_per_block = 1};
  TrainingStepCase mlp{.model = "mlp", .optimizer = "sgd", .lr = 0.05, .momentum = 0.9,
                       .dropout = 0.5f, .input_dropout = 0.2f};
  std::vector<TrainingStepCase> cases;
  std::vector<int64_t> batches = options.quick ? std::vector<int64_t>{8}
                                               : std::vector<int64_t>{32, 128, 512};
  for (TrainingStepCase base : {cnn, mlp}) {
    for (int64_t batch : batches) {
      base.batch = batch;
      base.name = "train_" + base.model + "_b" + std::to_string(batch);
      if (selected(options, base.name)) cases.push_back(base);
    }
  }
  // Mixed precision where the matmuls run on cooperative matrices: the MLP, all of whose matmuls
  // it changes (the CNN's convolutions stay float32).
  if (cooperative_matmul_available(device)) {
    mlp.float16_matmuls = true;
    for (int64_t batch : batches) {
      mlp.batch = batch;
      mlp.name = "train_mlp_f16in_b" + std::to_string(batch);
      if (selected(options, mlp.name)) cases.push_back(mlp);
    }
  }
  return cases;
}

std::vector<TrainingStepResult> run_training_steps(const Device& device,
                                                   const std::vector<TrainingStepCase>& cases,
                                                   const Options& options) {
  std::vector<TrainingStepResult> results;
  for (const TrainingStepCase& c : cases) results.push_back(run_case(device, c, options));
  return results;
}

}  // namespace vkt::bench
