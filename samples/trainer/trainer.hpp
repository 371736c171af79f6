// The sample trainer: Fashion-MNIST (or any MNIST-format data) with a chosen model, optimizer and
// regularizers. Everything the command line offers is a TrainConfig field.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <vktrain/data.hpp>
#include <vktrain/optim.hpp>
#include <vktrain/profiler.hpp>
#include <vktrain/train.hpp>

#include "models.hpp"

namespace samples {

struct TrainConfig {
  ModelConfig model;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int epochs = 10;
  int64_t batch_size = 128;
  std::string optimizer = "adam";  // sgd, adam, adamw, rmsprop, adagrad, adadelta
  double lr = 0;                   // 0: the optimizer's usual rate (sgd 0.05, adam/adamw 1e-3, ...)
  double momentum = 0.9;           // sgd, rmsprop
  double weight_decay = 0;         // the optimizer's own (L2-style in SGD/Adam, decoupled in AdamW)
  double l1 = 0, l2 = 0;           // explicit penalties added to the gradients
  double max_norm = 0;             // max-norm constraint on Linear weights (0: off)
  float label_smoothing = 0;
  std::string schedule = "none";   // none, cosine, step
  bool augment = false;            // random crop (pad 2) and horizontal flip on the GPU
  float rotation = 0;              // with augment: random rotation in [-rotation, rotation] degrees
  int early_stopping = 0;          // patience in epochs (0: off)
  uint64_t seed = 1;
  std::string device;              // index or name substring
  std::filesystem::path out_dir;   // metrics.csv, config.json, best/last checkpoints
  std::filesystem::path resume;    // a last.safetensors to continue from
  int64_t max_train = 0;           // use only this many training images (0: all)
  int64_t validation = 5000;       // held out from the training set (0: train on all of it, no
                                   // validation pass, no best checkpoint, no early stopping)
  bool capture = true;             // record the training step once, replay it every batch
  std::string on_nonfinite = "stop";  // a NaN/Inf loss: "stop" with an error, or "skip" the step
  // The Linear layers' matmuls (forward and both gradients): "float32", or "float16" inputs with
  // float32 sums (vkt::MatmulPrecision::float16_inputs: tensor cores where allowlisted)
  std::string matmul_precision = "float32";
  bool loss_scaling = false;  // dynamic loss scaling (vkt::optim::GradScaler), for float16 matmuls
  int profile_steps = 0;           // run this many steps eagerly under vkt::Profiler after the first
                                   // and print (and write to profile.txt) their device time by kernel
  bool quiet = false;
  int64_t interrupt_after = 0;     // tests: act as if Ctrl-C came after this many batches (0: never)
};

struct EpochResult {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;  // NaN without a validation split
  double lr = 0, seconds = 0;
};

struct RunResult {
  std::vector<EpochResult> epochs;
  double test_loss = 0, test_accuracy = 0;  // NaN when interrupted: Ctrl-C does not wait for a test pass
  double seconds = 0;
  int best_epoch = -1;  // by validation accuracy; -1 without a validation split
  bool interrupted = false;
  std::string device;
};

// Set by SIGINT (Ctrl-C): the trainer saves a checkpoint at the next batch and returns.
std::atomic<bool>& interrupt_requested();

// The line a trainer prints at the end: the test accuracy, or after Ctrl-C how to resume.
std::string summary_line(const std::string& label, const RunResult& result, const TrainConfig& config);

class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  ~Trainer();
  RunResult run();
  // For tests and the study: the pieces after construction.
  vkt::nn::Sequential& model() { return *model_; }
  vkt::optim::Optimizer& optimizer() { return *optimizer_; }
  const vkt::Device& device() const { return device_; }
  const vkt::data::Dataset& test_set() const { return test_; }
  // Accuracy and mean loss over a dataset in eval mode.
  std::pair<double, double> evaluate(const vkt::data::Dataset& dataset);
  // The model's predicted classes for the first `count` images of a dataset (eval mode).
  std::vector<int32_t> predict(const vkt::data::Dataset& dataset, int64_t count);
  void save_checkpoint(const std::filesystem::path& path, int epoch, int64_t batch) const;

 private:
  void record_step();
  // Whether this step is one of the profiled ones (starting the profiler at the first of them);
  // finish_profile() prints and writes the table after the last.
  bool profile_this_step();
  void finish_profile();
  EpochResult train_epoch(int epoch, int64_t skip_batches, bool* interrupted);
  int64_t report_skipped_steps(uint32_t since);
  void load_checkpoint(const std::filesystem::path& path, int* epoch, int64_t* batch);
  void write_metrics() const;
  vkt::NamedTensors checkpoint_tensors() const;

  TrainConfig config_;
  vkt::Device device_;
  vkt::data::Dataset train_, validation_, test_;
  std::unique_ptr<vkt::data::DataLoader> loader_;
  std::shared_ptr<vkt::nn::Sequential> model_;
  std::unique_ptr<vkt::optim::Optimizer> optimizer_;
  std::unique_ptr<vkt::optim::LRScheduler> schedule_;
  std::unique_ptr<vkt::optim::WeightPenalty> penalty_;
  std::unique_ptr<vkt::optim::GradScaler> scaler_;  // loss_scaling
  std::vector<vkt::Tensor> max_norm_weights_;
  vkt::Tensor images_, labels_, augmented_, augment_step_;
  std::vector<float> augment_fill_;  // per channel: the normalized value of a black pixel
  vkt::Tensor loss_sum_, correct_sum_, correct_batch_;
  vkt::Tensor finite_loss_;  // skip mode: the step's loss, 0 where it was not finite
  uint32_t skipped_reported_ = 0;
  std::unique_ptr<vkt::train::StepCapture> capture_;
  std::vector<EpochResult> history_;
  int64_t batches_run_ = 0;  // steps run by this trainer, all epochs
  std::unique_ptr<vkt::Profiler> profiler_;
  int profiled_ = 0;            // steps in the profile so far
  bool profile_done_ = false;  // the run's one profile was written
};

}  // namespace samples
