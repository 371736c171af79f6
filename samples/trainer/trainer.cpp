#include "trainer.hpp"

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vktrain/error.hpp>
#include <vktrain/io.hpp>

#include "progress.hpp"

namespace samples {

using namespace vkt;

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

void on_interrupt(int) { interrupt_requested() = true; }

void require(bool condition, const std::string& message) {
  if (!condition) throw Error("trainer: " + message);
}

// Biases and normalization parameters (1-D) are not decayed or penalized, as is customary.
std::pair<std::vector<optim::ParamRef>, std::vector<optim::ParamRef>> split_decay(const nn::Module& model) {
  std::vector<optim::ParamRef> decay, no_decay;
  for (const auto& [name, parameter] : model.named_parameters()) {
    optim::ParamRef ref{name, parameter.value(), parameter.grad()};
    (parameter.value().dim() > 1 ? decay : no_decay).push_back(ref);
  }
  return {decay, no_decay};
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const nn::Module& model) {
  auto [decay, no_decay] = split_decay(model);
  std::vector<optim::ParamGroup> groups{{decay, {}, {}}, {no_decay, {}, 0.0}};
  const std::string& kind = c.optimizer;
  auto lr = [&](double usual) { return c.lr > 0 ? c.lr : usual; };
  if (kind == "sgd")
    return std::make_unique<optim::SGD>(groups, optim::SGDOptions{.lr = lr(0.05), .momentum = c.momentum,
                                                                   .weight_decay = c.weight_decay});
  if (kind == "adam")
    return std::make_unique<optim::Adam>(groups, optim::AdamOptions{.lr = lr(1e-3), .weight_decay = c.weight_decay});
  if (kind == "adamw")
    return std::make_unique<optim::AdamW>(groups, optim::AdamWOptions{.lr = lr(1e-3), .weight_decay = c.weight_decay});
  if (kind == "rmsprop")
    return std::make_unique<optim::RMSprop>(groups, optim::RMSpropOptions{.lr = lr(1e-3), .weight_decay = c.weight_decay});
  if (kind == "adagrad")
    return std::make_unique<optim::Adagrad>(groups, optim::AdagradOptions{.lr = lr(1e-2), .weight_decay = c.weight_decay});
  if (kind == "adadelta")
    return std::make_unique<optim::Adadelta>(groups, optim::AdadeltaOptions{.lr = lr(1.0), .weight_decay = c.weight_decay});
  throw Error("trainer: unknown optimizer '" + kind + "' (sgd, adam, adamw, rmsprop, adagrad, adadelta)");
}

nlohmann::json config_json(const TrainConfig& c) {
  return {{"model", c.model.kind},        {"dropout", c.model.dropout},
          {"batchnorm", c.model.batchnorm}, {"input_noise", c.model.input_noise},
          {"data", c.data_dir},           {"epochs", c.epochs},
          {"batch_size", c.batch_size},   {"optimizer", c.optimizer},
          {"lr", c.lr},                   {"momentum", c.momentum},
          {"weight_decay", c.weight_decay}, {"l1", c.l1},
          {"l2", c.l2},                   {"max_norm", c.max_norm},
          {"label_smoothing", c.label_smoothing}, {"schedule", c.schedule},
          {"augment", c.augment},         {"early_stopping", c.early_stopping},
          {"seed", c.seed},               {"max_train", c.max_train},
          {"validation", c.validation},   {"capture", c.capture}, {"on_nonfinite", c.on_nonfinite},
          {"matmul_precision", c.matmul_precision}, {"loss_scaling", c.loss_scaling},
          {"rotation", c.rotation},       {"input_dropout", c.model.input_dropout},
          {"hidden", c.model.hidden},     {"conv_channels", c.model.conv_channels},
          {"convs_per_block", c.model.convs_per_block}, {"cnn_hidden", c.model.cnn_hidden}};
}

// The model is built from the flags, not from the checkpoint: when a checkpoint's tensors do not fit,
// a checkpoint of another architecture is named as such.
void require_same_model(const std::filesystem::path& path, const Metadata& metadata,
                        const nlohmann::json& now) {
  auto it = metadata.find("config");
  if (it == metadata.end()) return;  // not written by this trainer: the tensors' shapes decide
  nlohmann::json saved = nlohmann::json::parse(it->second);
  for (const char* key : {"model", "hidden", "conv_channels", "convs_per_block", "cnn_hidden", "batchnorm"})
    if (saved.contains(key) && saved[key] != now[key])
      throw Error("trainer: --resume " + path.string() + " holds a different model: " + key + " " +
                  saved[key].dump() + " in the checkpoint, " + now[key].dump() +
                  " now (repeat the run's model flags)");
}

}  // namespace

std::string summary_line(const std::string& label, const RunResult& result, const TrainConfig& config) {
  char line[512];
  if (result.interrupted)
    std::snprintf(line, sizeof line, "%sstopped after %zu whole epochs, %.1f min%s%s", label.c_str(),
                  result.epochs.size(), result.seconds / 60,
                  config.out_dir.empty() ? "" : "; continue with --resume ",
                  config.out_dir.empty() ? "" : (config.out_dir / "last.safetensors").c_str());
  else
    std::snprintf(line, sizeof line, "%stest accuracy %.4f (loss %.4f) after %zu epochs, %.1f min on %s",
                  label.c_str(), result.test_accuracy, result.test_loss, result.epochs.size(),
                  result.seconds / 60, result.device.c_str());
  return line;
}

Trainer::Trainer(TrainConfig config)
    : config_(std::move(config)), device_(Device::open({.select = config_.device})) {
  require(config_.epochs >= 1, "epochs must be at least 1");
  require(config_.rotation >= 0 && config_.rotation <= 180,
          "rotation must be in [0, 180] degrees, got " + std::to_string(config_.rotation));
  require(config_.rotation == 0 || config_.augment,
          "rotation needs augment (it is part of the augmentation)");
  require(config_.profile_steps >= 0, "profile needs a number of steps >= 0");
  require(config_.matmul_precision == "float32" || config_.matmul_precision == "float16",
          "matmul precision must be float32 or float16, got '" + config_.matmul_precision + "'");
  set_matmul_precision(device_, config_.matmul_precision == "float16"
                                    ? MatmulPrecision::float16_inputs
                                    : MatmulPrecision::float32);
  require(config_.validation >= 0, "validation needs a number of images >= 0, got " +
                                       std::to_string(config_.validation));
  require(config_.validation > 0 || config_.early_stopping == 0,
          "early stopping needs a validation split (validation > 0)");
  require(config_.profile_steps == 0 || device_.info().timestamp_queries,
          "profile needs a device that writes timestamps; " + device_.info().name + " does not");
  // Data: a seeded validation split of the training set, normalized with the training statistics.
  data::Dataset full = data::load_mnist_dir(config_.data_dir, true);
  std::tie(train_, validation_) = data::split(full, std::min(config_.validation, full.count - 1), config_.seed);
  if (config_.max_train > 0 && config_.max_train < train_.count) train_ = data::head(train_, config_.max_train);
  test_ = data::load_mnist_dir(config_.data_dir, false);
  auto [mean, std] = data::channel_stats(train_);
  for (data::Dataset* d : {&train_, &validation_, &test_}) data::normalize(*d, mean, std);
  // Augmentation pads with black as torchvision does before Normalize: black normalized.
  for (size_t c = 0; c < mean.size(); ++c) augment_fill_.push_back(-mean[c] / std[c]);
  require(train_.count >= config_.batch_size,
                  "batch size " + std::to_string(config_.batch_size) + " exceeds the " +
                      std::to_string(train_.count) + " training images");
  loader_ = std::make_unique<data::DataLoader>(train_, config_.batch_size, true, config_.seed, true);

  nn::manual_seed(config_.seed);
  model_ = build_model(device_, config_.model, train_.channels, train_.height, train_.width, train_.num_classes);
  optimizer_ = make_optimizer(config_, *model_);
  if (config_.loss_scaling) scaler_ = std::make_unique<optim::GradScaler>(device_);
  if (config_.schedule == "cosine") {
    schedule_ = std::make_unique<optim::CosineAnnealingLR>(*optimizer_, config_.epochs);
  } else if (config_.schedule == "step") {
    schedule_ = std::make_unique<optim::StepLR>(*optimizer_, std::max(1, config_.epochs / 3), 0.1);
  } else {
    require(config_.schedule == "none", "unknown schedule '" + config_.schedule + "' (none, cosine, step)");
  }
  if (config_.l1 > 0 || config_.l2 > 0)
    penalty_ = std::make_unique<optim::WeightPenalty>(split_decay(*model_).first,
                                                      optim::Penalty{config_.l2, config_.l1});
  if (config_.max_norm > 0)
    for (const auto& [name, parameter] : model_->named_parameters())
      if (parameter.value().dim() == 2) max_norm_weights_.push_back(parameter.value());

  Shape batch{config_.batch_size, train_.channels, train_.height, train_.width};
  images_ = Tensor::empty(device_, batch);
  labels_ = Tensor::empty(device_, {config_.batch_size}, DType::i32);
  if (config_.augment) {
    augmented_ = Tensor::empty(device_, batch);
    augment_step_ = Tensor::zeros(device_, {1}, DType::u32);
  }
  loss_sum_ = Tensor::zeros(device_, {1});
  finite_loss_ = Tensor::zeros(device_, {1});
  correct_sum_ = Tensor::zeros(device_, {1});
  correct_batch_ = Tensor::zeros(device_, {1});
  capture_ = std::make_unique<train::StepCapture>(device_);
}

Trainer::~Trainer() = default;

// One training step, recorded (and, with capture, recorded once and replayed).
void Trainer::record_step() {
  Tensor input = images_;
  if (config_.augment) {
    augment_forward(images_, augment_step_, augmented_,
                    {.pad = 2, .flip = true, .max_rotation_degrees = config_.rotation, .seed = config_.seed,
                     .stream = 1u << 20, .fill = augment_fill_});
    increment(augment_step_);
    input = augmented_;
  }
  optimizer_->zero_grad();
  nn::Variable logits = (*model_)(nn::Variable(input));
  nn::Variable loss = nn::F::cross_entropy(
      logits, labels_, {.reduction = Reduction::mean, .label_smoothing = config_.label_smoothing});
  // With loss scaling the gradients come out scaled, and are unscaled before the penalty adds to
  // them; the scaler's step is skipped after non-finite gradients (a NaN loss gives those too).
  if (scaler_) {
    scaler_->backward(loss);
    scaler_->unscale(*optimizer_);
  } else {
    nn::backward(loss);
  }
  if (penalty_) penalty_->apply();
  bool skip = config_.on_nonfinite == "skip";
  if (scaler_) {
    scaler_->step(*optimizer_);
    scaler_->update();
  } else if (skip) {
    optimizer_->step_if_finite(loss.value());  // skipped on the device when the loss is NaN/Inf
  } else {
    optimizer_->step();
  }
  for (const Tensor& weight : max_norm_weights_) optim::apply_max_norm(weight, config_.max_norm);
  // Running metrics stay on the device: the host reads them only for the progress display. A
  // skipped step's loss counts as 0 (the running mean divides by the steps taken).
  if (skip) replace_nonfinite_into(loss.value(), 0.0f, finite_loss_);
  axpy(1.0f, skip ? finite_loss_ : loss.value(), loss_sum_);
  count_correct_into(logits.value(), labels_, correct_batch_);
  axpy(1.0f, correct_batch_, correct_sum_);
}

// Skip mode: prints the steps skipped since the last report (with the first one's number) and
// returns how many were skipped since `since` (a count taken earlier); 0 in stop mode.
int64_t Trainer::report_skipped_steps(uint32_t since) {
  if (config_.on_nonfinite != "skip") return 0;
  optim::Optimizer::SkippedSteps skipped = optimizer_->skipped_steps();
  if (skipped.count > skipped_reported_ && !config_.quiet)
    std::printf("\nskipped %u step%s with a NaN or infinite %s (%u in all, the first at step %u)\n",
                skipped.count - skipped_reported_, skipped.count - skipped_reported_ == 1 ? "" : "s",
                scaler_ ? "loss or scaled gradient" : "loss", skipped.count, skipped.first_step);
  skipped_reported_ = skipped.count;
  return int64_t(skipped.count - since);
}

// The first step is left out: CPU drivers compile each pipeline's code at its first launch.
// Profiled steps are recorded eagerly, so that the profile sees inside them.
bool Trainer::profile_this_step() {
  if (profile_done_ || config_.profile_steps == 0 || batches_run_ < 1) return false;
  if (!profiler_) profiler_ = std::make_unique<Profiler>(device_);
  return true;
}

void Trainer::finish_profile() {
  std::string text = "device time per training step (batch " + std::to_string(config_.batch_size) +
                     ", eager, " + std::to_string(profiled_) + " steps profiled) on " +
                     device_.info().name + "\n" + profiler_->table(25, profiled_);
  profiler_.reset();
  profile_done_ = true;  // one profile a run, even when an epoch's end cut it short
  if (!config_.quiet) std::printf("\n%s", text.c_str());
  if (!config_.out_dir.empty()) write_file_atomic(config_.out_dir / "profile.txt", text);
}

EpochResult Trainer::train_epoch(int epoch, int64_t skip_batches, bool* interrupted) {
  model_->train();
  loader_->begin_epoch(epoch, skip_batches);
  loss_sum_.fill(0.0f);
  correct_sum_.fill(0.0f);
  int64_t total = loader_->batches_per_epoch();
  Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.epochs), total,
                    skip_batches);
  int64_t done = 0;
  std::string signature;
  const uint32_t epoch_skipped_start = skipped_reported_;
  for (int64_t batch = skip_batches; batch < total; ++batch) {
    loader_->next(images_, labels_);
    bool profiled = profile_this_step();
    if (config_.capture && !profiled) {
      if (signature.empty()) signature = train::step_signature(*model_, {images_.shape()}, optimizer_->settings());
      capture_->run(signature, [&] { record_step(); });
    } else {
      record_step();
    }
    ++done;
    ++batches_run_;
    if (profiled && ++profiled_ == config_.profile_steps) finish_profile();
    // Every 20 batches the host reads the running loss: for the progress display, and to stop a
    // diverged run (NaN or Inf) with the step where it was seen, instead of training on garbage.
    if (done % 20 == 0 || batch + 1 == total) {
      int64_t taken = done - report_skipped_steps(epoch_skipped_start);
      double running = taken > 0 ? loss_sum_.to_host()[0] / double(taken) : 0.0;
      if (!std::isfinite(running))
        throw Error("trainer: the loss became " + std::string(std::isnan(running) ? "NaN" : "infinite") +
                    " by epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) +
                    " (step " + std::to_string(int64_t(epoch) * total + batch + 1) +
                    "); lower the learning rate or check the data");
      if (!config_.quiet) progress.update(batch + 1, done * config_.batch_size, running);
    }
    if (config_.interrupt_after > 0 && batches_run_ == config_.interrupt_after) interrupt_requested() = true;
    if (interrupt_requested()) {
      device_.synchronize();
      if (!config_.out_dir.empty()) save_checkpoint(config_.out_dir / "last.safetensors", epoch, batch + 1);
      *interrupted = true;
      break;
    }
  }
  if (!config_.quiet) progress.finish();
  if (profiler_) finish_profile();  // not into the evaluation passes
  EpochResult result;
  result.epoch = epoch + 1;
  int64_t taken = done - report_skipped_steps(epoch_skipped_start);
  result.train_loss = taken > 0 ? loss_sum_.to_host()[0] / double(taken) : NAN;
  result.train_accuracy = done ? correct_sum_.to_host()[0] / double(done * config_.batch_size) : NAN;
  result.lr = optimizer_->lr(0);
  result.seconds = progress.seconds();
  return result;
}

std::pair<double, double> Trainer::evaluate(const data::Dataset& dataset) {
  nn::NoGrad no_grad;
  bool was_training = model_->training();
  model_->eval();
  const int64_t batch = 500;
  data::DataLoader loader(dataset, batch, false, 0);
  Tensor images = Tensor::empty(device_, {batch, dataset.channels, dataset.height, dataset.width});
  Tensor labels = Tensor::empty(device_, {batch}, DType::i32);
  Tensor loss_sum = Tensor::zeros(device_, {1}), correct = Tensor::zeros(device_, {1});
  Tensor batch_loss = Tensor::empty(device_, {1}), batch_correct = Tensor::empty(device_, {1});
  for (int64_t real; (real = loader.next(images, labels)) > 0;) {
    // Rows past `real` repeat earlier images: they are cut off (views at offset 0 stay aligned).
    Tensor logits = (*model_)(nn::Variable(images)).value().narrow(0, real);
    Tensor used_labels = labels.narrow(0, real);
    cross_entropy_forward(logits, used_labels, batch_loss, {.reduction = Reduction::sum});
    axpy(1.0f, batch_loss, loss_sum);
    count_correct_into(logits, used_labels, batch_correct);
    axpy(1.0f, batch_correct, correct);
  }
  model_->train(was_training);
  return {correct.to_host()[0] / double(dataset.count), loss_sum.to_host()[0] / double(dataset.count)};
}

std::vector<int32_t> Trainer::predict(const data::Dataset& dataset, int64_t count) {
  nn::NoGrad no_grad;
  bool was_training = model_->training();
  model_->eval();
  data::Dataset first = data::head(dataset, count);
  Tensor images = Tensor::from_host(device_, first.images, {first.count, first.channels, first.height, first.width});
  std::vector<int32_t> predictions = argmax((*model_)(nn::Variable(images)).value()).to_host_i32();
  model_->train(was_training);
  return predictions;
}

NamedTensors Trainer::checkpoint_tensors() const {
  NamedTensors tensors;
  for (const auto& [name, tensor] : model_->state_dict()) tensors.emplace_back("model." + name, tensor);
  for (const auto& [name, tensor] : model_->named_extra_state()) tensors.emplace_back("rng." + name, tensor);
  for (const auto& [name, tensor] : optimizer_->state()) tensors.emplace_back("optimizer." + name, tensor);
  if (augment_step_.defined()) tensors.emplace_back("rng.augment.step", augment_step_);
  if (scaler_)
    for (const auto& [name, tensor] : scaler_->state()) tensors.emplace_back("scaler." + name, tensor);
  return tensors;
}

void Trainer::save_checkpoint(const std::filesystem::path& path, int epoch, int64_t batch) const {
  Metadata metadata{{"epoch", std::to_string(epoch)},
                    {"batch", std::to_string(batch)},
                    {"config", config_json(config_).dump()}};
  nlohmann::json history = nlohmann::json::array();
  for (const EpochResult& e : history_)
    history.push_back({e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.lr, e.seconds});
  metadata["history"] = history.dump();
  save_safetensors(path, checkpoint_tensors(), metadata);
}

void Trainer::load_checkpoint(const std::filesystem::path& path, int* epoch, int64_t* batch) {
  Metadata metadata;
  try {
    metadata = load_safetensors(path, checkpoint_tensors());
  } catch (const Error&) {  // read the file again only to say which flag differs
    Metadata saved;
    (void)read_safetensors(path, &saved);
    require_same_model(path, saved, config_json(config_));
    throw;
  }
  *epoch = std::stoi(metadata.at("epoch"));
  *batch = std::stoll(metadata.at("batch"));
  history_.clear();
  // JSON has no NaN: a run without validation stores its validation figures as null.
  auto number = [](const nlohmann::json& v) {
    return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
  };
  for (const auto& e : nlohmann::json::parse(metadata.at("history")))
    history_.push_back({e[0], number(e[1]), number(e[2]), number(e[3]), number(e[4]), number(e[5]), number(e[6])});
}

void Trainer::write_metrics() const {
  if (config_.out_dir.empty()) return;
  std::ostringstream csv;
  csv << "epoch,split,loss,accuracy,lr,seconds\n";
  for (const EpochResult& e : history_) {
    csv << e.epoch << ",train," << e.train_loss << "," << e.train_accuracy << "," << e.lr << "," << e.seconds << "\n";
    if (!std::isnan(e.val_accuracy))
      csv << e.epoch << ",val," << e.val_loss << "," << e.val_accuracy << "," << e.lr << "," << e.seconds << "\n";
  }
  write_file_atomic(config_.out_dir / "metrics.csv", csv.str());
}

RunResult Trainer::run() {
  RunResult result;
  result.device = device_.info().name;
  auto start = std::chrono::steady_clock::now();
  int first_epoch = 0;
  int64_t skip = 0;
  if (!config_.resume.empty()) {
    load_checkpoint(config_.resume, &first_epoch, &skip);
    if (!config_.quiet) std::printf("resumed from %s at epoch %d, batch %lld\n", config_.resume.c_str(), first_epoch + 1, (long long)skip);
  }
  if (schedule_) {
    for (int e = 0; e < first_epoch; ++e) schedule_->step();
  }
  if (!config_.out_dir.empty()) {
    std::filesystem::create_directories(config_.out_dir);
    write_file_atomic(config_.out_dir / "config.json", config_json(config_).dump(2) + "\n");
  }
  std::unique_ptr<train::EarlyStopping> stopping;
  if (config_.early_stopping > 0) stopping = std::make_unique<train::EarlyStopping>(config_.early_stopping);
  auto previous = std::signal(SIGINT, on_interrupt);
  interrupt_requested() = false;
  double best_val = -1;
  for (int epoch = first_epoch; epoch < config_.epochs; ++epoch) {
    bool interrupted = false;
    EpochResult e = train_epoch(epoch, epoch == first_epoch ? skip : 0, &interrupted);
    if (interrupted) {
      result.interrupted = true;
      if (!config_.quiet && !config_.out_dir.empty())
        std::printf("interrupted: checkpoint saved in %s\n", (config_.out_dir / "last.safetensors").c_str());
      else if (!config_.quiet)
        std::printf("interrupted: nothing saved (no --out directory)\n");
      break;
    }
    const bool validating = validation_.count > 0;
    if (validating)
      std::tie(e.val_accuracy, e.val_loss) = evaluate(validation_);
    else
      e.val_accuracy = e.val_loss = std::numeric_limits<double>::quiet_NaN();
    history_.push_back(e);
    if (!config_.quiet && validating)
      std::printf("epoch %d/%d  train loss %.4f acc %.4f  val loss %.4f acc %.4f  lr %.2g  %.1fs\n", e.epoch,
                  config_.epochs, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.lr, e.seconds);
    else if (!config_.quiet)
      std::printf("epoch %d/%d  train loss %.4f acc %.4f  (no validation split)  lr %.2g  %.1fs\n", e.epoch,
                  config_.epochs, e.train_loss, e.train_accuracy, e.lr, e.seconds);
    if (schedule_) schedule_->step();
    if (!config_.out_dir.empty()) {
      save_checkpoint(config_.out_dir / "last.safetensors", epoch + 1, 0);
      if (e.val_accuracy > best_val) save_checkpoint(config_.out_dir / "best.safetensors", epoch + 1, 0);
      write_metrics();
    }
    if (e.val_accuracy > best_val) {
      best_val = e.val_accuracy;
      result.best_epoch = e.epoch;
    }
    if (stopping && stopping->update(e.val_accuracy, *model_)) {
      if (!config_.quiet) std::printf("early stopping: no improvement for %d epochs\n", config_.early_stopping);
      break;
    }
  }
  std::signal(SIGINT, previous);
  if (stopping && stopping->has_best()) stopping->restore_best(*model_);
  if (result.interrupted)  // the user asked to stop: save (done) and exit, not a minute of testing
    result.test_accuracy = result.test_loss = std::numeric_limits<double>::quiet_NaN();
  else
    std::tie(result.test_accuracy, result.test_loss) = evaluate(test_);
  result.epochs = history_;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace samples
