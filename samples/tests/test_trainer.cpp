// The sample trainer end to end on Fashion-MNIST subsets: it learns, a resumed run equals one that
// never stopped (also after a Ctrl-C mid-epoch), its outputs are written, and a diverged run stops
// with the step where the loss stopped being finite.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vktrain/checkpoint.hpp>
#include <vktrain/error.hpp>

#include "progress.hpp"
#include "trainer.hpp"

namespace fs = std::filesystem;

namespace {

bool have_data() { return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); }

samples::TrainConfig small_mlp() {
  samples::TrainConfig c;
  c.model = {.kind = "mlp", .dropout = 0.1f, .input_dropout = 0.0f, .batchnorm = true, .hidden = 96};
  c.optimizer = "sgd";
  c.lr = 0.05;
  c.batch_size = 50;
  c.max_train = 600;
  c.validation = 500;
  c.quiet = true;
  c.seed = 11;
  return c;
}

std::vector<std::vector<uint8_t>> weights(samples::Trainer& trainer) {
  std::vector<std::vector<uint8_t>> bytes;
  for (const auto& [name, tensor] : trainer.model().state_dict()) bytes.push_back(tensor.to_host_raw());
  for (const auto& [name, tensor] : trainer.optimizer().state()) bytes.push_back(tensor.to_host_raw());
  return bytes;
}

// The run's vkt::Error message when it stops on a non-finite loss ("" if it finishes).
std::string divergence_error(samples::Trainer& trainer) {
  try {
    trainer.run();
  } catch (const vkt::Error& error) {
    CHECK(error.vk_result() == 0);  // the trainer's own stop, not a failed Vulkan call
    return error.what();
  }
  return "";
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("vktrain-trainer-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("trainer: an MLP learns Fashion-MNIST well above chance in a few hundred steps", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  TempDir dir;
  samples::TrainConfig c = small_mlp();
  c.max_train = 3000;
  c.batch_size = 30;
  c.epochs = 3;  // 300 steps
  c.out_dir = dir.path;
  samples::Trainer trainer(c);
  samples::RunResult result = trainer.run();
  // Chance is 10%; this small MLP reaches about 80% on 3,000 images. 70% is a safe floor.
  CHECK(result.test_accuracy > 0.70);
  CHECK(result.epochs.size() == 3);
  CHECK(result.epochs.back().train_loss < result.epochs.front().train_loss);
  CHECK(fs::exists(dir.path / "metrics.csv"));
  CHECK(fs::exists(dir.path / "best.safetensors"));
  // config.json names the model's shape too, so a run can be rebuilt from it.
  std::ifstream config_file(dir.path / "config.json");
  nlohmann::json config = nlohmann::json::parse(config_file);
  CHECK(config.at("model") == "mlp");
  CHECK(config.at("hidden") == c.model.hidden);
  CHECK(config.at("conv_channels") == c.model.conv_channels);
  CHECK(config.at("cnn_hidden") == c.model.cnn_hidden);
  CHECK(config.at("epochs") == 3);
  std::ifstream csv(dir.path / "metrics.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "epoch,split,loss,accuracy,lr,seconds");
}

TEST_CASE("trainer: resuming equals training without a stop", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  TempDir dir;
  samples::TrainConfig c = small_mlp();
  c.epochs = 2;
  c.optimizer = "adam";
  c.lr = 1e-3;
  samples::Trainer straight(c);
  straight.run();

  // Stopped (as by Ctrl-C) in the middle of the first epoch, then resumed in a new trainer.
  samples::TrainConfig first = c;
  first.out_dir = dir.path;
  first.interrupt_after = 5;
  samples::Trainer stopped(first);
  samples::RunResult interrupted = stopped.run();
  CHECK(interrupted.interrupted);
  CHECK(std::isnan(interrupted.test_accuracy));  // stopped at once: no test pass after Ctrl-C
  samples::TrainConfig second = c;
  second.resume = dir.path / "last.safetensors";
  samples::Trainer resumed(second);
  samples::RunResult result = resumed.run();
  CHECK_FALSE(result.interrupted);
  CHECK(result.epochs.size() == 2);
  CHECK(weights(resumed) == weights(straight));
}

TEST_CASE("trainer: bad settings are clear errors", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  samples::TrainConfig c = small_mlp();
  c.optimizer = "lbfgs";
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("unknown optimizer 'lbfgs'"));
  c = small_mlp();
  c.data_dir = "/nonexistent";
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("/nonexistent"));
  c = small_mlp();
  c.batch_size = 5000;
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("batch size 5000 exceeds"));
  c = small_mlp();
  c.validation = -1;
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("validation needs a number of images >= 0, got -1"));
  c.validation = 0;
  c.early_stopping = 3;
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("early stopping needs a validation split"));
  c = small_mlp();
  c.matmul_precision = "bfloat16";
  CHECK_THROWS_WITH(samples::Trainer(c),
                    Catch::Contains("matmul precision must be float32 or float16, got 'bfloat16'"));
}

// Mixed precision: the Linear layers' matmuls on float16 inputs (vkt::MatmulPrecision::
// float16_inputs, forward and both gradients) train as well as float32 — and do run: the
// weights come out different.
TEST_CASE("trainer: float16 matmul inputs learn as float32 does", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  samples::TrainConfig c = small_mlp();
  c.max_train = 2000;
  c.batch_size = 40;
  c.epochs = 2;  // 100 steps
  samples::Trainer full(c);
  samples::RunResult f32 = full.run();
  c.matmul_precision = "float16";
  samples::Trainer mixed(c);
  samples::RunResult f16 = mixed.run();
  CHECK(vkt::matmul_precision(mixed.device()) == vkt::MatmulPrecision::float16_inputs);
  CHECK(f16.test_accuracy > 0.65);
  CHECK(std::abs(f16.test_accuracy - f32.test_accuracy) < 0.04);  // lavapipe: 0.784 vs 0.770
  CHECK(f16.epochs.back().train_loss < f16.epochs.front().train_loss);
  CHECK(weights(mixed) != weights(full));
  c.loss_scaling = true;
  samples::Trainer scaled(c);
  samples::RunResult f16_scaled = scaled.run();
  CHECK(f16_scaled.test_accuracy > 0.65);
  CHECK(std::abs(f16_scaled.test_accuracy - f32.test_accuracy) < 0.04);
}

// Loss scaling by a power of two is exact where nothing overflows: with float32 matmuls the run
// equals the unscaled one bit for bit (scaler, unscale-then-penalty order and checkpoint state
// wired in), and the scaler's state is in the checkpoint.
TEST_CASE("trainer: loss scaling with float32 matmuls changes no bit", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  TempDir dir;
  samples::TrainConfig c = small_mlp();
  c.l2 = 1e-4;  // a penalty, which must see unscaled gradients
  samples::Trainer plain(c);
  plain.run();
  c.loss_scaling = true;
  c.out_dir = dir.path;
  samples::Trainer scaled(c);
  scaled.run();
  CHECK(weights(scaled) == weights(plain));
  vkt::Metadata metadata;
  auto saved = vkt::read_safetensors(dir.path / "last.safetensors", &metadata);
  CHECK(saved.count("scaler.scale") == 1);
  CHECK(saved.count("scaler.growth_tracker") == 1);
}

TEST_CASE("trainer: validation = 0 trains on every image, and its checkpoints resume", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  TempDir dir;
  samples::TrainConfig c = small_mlp();
  c.validation = 0;
  c.epochs = 2;
  c.out_dir = dir.path;
  samples::RunResult result = samples::Trainer(c).run();
  REQUIRE(result.epochs.size() == 2);
  for (const samples::EpochResult& e : result.epochs) {
    CHECK(std::isnan(e.val_accuracy));
    CHECK(std::isnan(e.val_loss));
    CHECK(std::isfinite(e.train_loss));
  }
  CHECK(result.best_epoch == -1);
  CHECK(result.test_accuracy > 0.5);  // the test pass still runs
  CHECK(fs::exists(dir.path / "last.safetensors"));
  CHECK_FALSE(fs::exists(dir.path / "best.safetensors"));  // nothing to pick a best by
  std::ifstream metrics(dir.path / "metrics.csv");
  std::string csv((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
  CHECK_THAT(csv, Catch::Contains("2,train,"));
  CHECK_THAT(csv, !Catch::Contains(",val,"));
  // The checkpoint's history holds the missing figures as JSON null; a resumed run reads them back.
  samples::TrainConfig more = c;
  more.epochs = 3;
  more.resume = dir.path / "last.safetensors";
  samples::RunResult resumed = samples::Trainer(more).run();
  REQUIRE(resumed.epochs.size() == 3);
  CHECK(std::isnan(resumed.epochs[0].val_accuracy));
  CHECK(resumed.epochs[1].train_loss == result.epochs[1].train_loss);
  // Resuming with other model flags names the flag, not a tensor that does not fit.
  samples::TrainConfig other = more;
  other.model.hidden = 48;
  CHECK_THROWS_WITH(samples::Trainer(other).run(),
                    Catch::Contains("holds a different model: hidden") && Catch::Contains("in the checkpoint, 48 now"));
}

TEST_CASE("trainer: a diverging run stops with an error naming the step", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  // The trainer reads the running loss every 20 batches and at the end of an epoch; from the first
  // non-finite step on, the running sum stays NaN or +Inf, so the stop comes at the first such
  // read.
  SECTION("a NaN in the output layer: the end of the first epoch (12 batches of 50)") {
    samples::TrainConfig c = small_mlp();
    samples::Trainer trainer(c);
    trainer.model().named_parameters().back().second.value().fill(NAN);  // the last Linear's bias
    std::string message = divergence_error(trainer);
    CHECK_THAT(message,
               Catch::StartsWith("trainer: the loss became NaN by epoch 1, batch 12 (step 12)"));
    CHECK_THAT(message, Catch::Contains("lower the learning rate"));
  }
  SECTION("a learning rate of 1e30: the read after batch 20 of 30") {
    samples::TrainConfig c = small_mlp();
    c.lr = 1e30;
    c.max_train = 1500;
    samples::Trainer trainer(c);
    std::string message = divergence_error(trainer);
    CHECK_THAT(message, Catch::StartsWith("trainer: the loss became"));
    CHECK_THAT(message, Catch::Contains("by epoch 1, batch 20 (step 20)"));
  }
}

TEST_CASE("trainer: with on_nonfinite = skip, NaN steps are skipped and training goes on",
          "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  samples::TrainConfig c = small_mlp();
  c.on_nonfinite = "skip";
  c.epochs = 1;
  samples::Trainer trainer(c);
  auto params = trainer.model().named_parameters();
  auto values = [&] {  // every parameter but the last Linear's bias, which is made NaN
    std::vector<std::vector<uint8_t>> bytes;
    for (size_t i = 0; i + 1 < params.size(); ++i)
      bytes.push_back(params[i].second.value().to_host_raw());
    return bytes;
  };
  params.back().second.value().fill(NAN);
  auto before = values();
  samples::RunResult result;
  REQUIRE_NOTHROW(result = trainer.run());
  // All 12 steps of the epoch (600 images in batches of 50) were skipped: nothing was updated.
  CHECK(values() == before);
  vkt::optim::Optimizer::SkippedSteps skipped = trainer.optimizer().skipped_steps();
  CHECK(skipped.count == 12);
  CHECK(skipped.first_step == 1);
  CHECK(trainer.optimizer().step_count().to_host_u32()[0] == 0);
  CHECK(std::isnan(result.epochs.back().train_loss));  // no step was taken

  // Once the loss is finite again the same (captured) step trains normally.
  params.back().second.value().fill(0.0f);
  REQUIRE_NOTHROW(result = trainer.run());
  CHECK(values() != before);
  CHECK(trainer.optimizer().step_count().to_host_u32()[0] == 12);
  CHECK(trainer.optimizer().skipped_steps().count == 12);
  CHECK(std::isfinite(result.epochs.back().train_loss));
}

TEST_CASE("trainer: --profile times eager steps by kernel and changes no result", "[samples]") {
  REQUIRE(have_data());  // scripts/bootstrap installs dataset-fashion-mnist
  TempDir dir;
  samples::TrainConfig c = small_mlp();
  c.epochs = 2;  // 12 steps an epoch
  samples::Trainer plain(c);
  plain.run();
  samples::TrainConfig profiled = c;
  profiled.out_dir = dir.path;
  // More steps than the first epoch has after its first: the profile stops at the epoch's end
  // (evaluation is not a training step), and no second one starts.
  profiled.profile_steps = 20;
  samples::Trainer trainer(profiled);
  trainer.run();
  CHECK(weights(trainer) == weights(plain));  // eager steps compute what the replayed ones do
  std::ifstream file(dir.path / "profile.txt");
  REQUIRE(file);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("11 steps profiled"));
  CHECK_THAT(text, Catch::Contains("linear.backward/"));  // the backward's kernels, by op
  CHECK_THAT(text, Catch::Contains("optim_sgd"));
  CHECK_THAT(text, Catch::Contains("total"));
  // One profile a run: the second epoch made none.
  CHECK(text.find("11 steps profiled", text.find("11 steps profiled") + 1) == std::string::npos);
  c.profile_steps = -1;
  CHECK_THROWS_WITH(samples::Trainer(c), Catch::Contains("profile needs a number of steps"));
}

// The ETA counts only the batches run in this process: a resumed epoch that starts at batch 300
// of 400 and has run 50 of them in 10 s has 50 left, another 10 s (not 50 · 10 / 350).
TEST_CASE("progress: the ETA of a resumed epoch counts the batches run since the resume", "[samples]") {
  CHECK(samples::eta_seconds(10.0, 350, 300, 400) == Approx(10.0));
  CHECK(samples::eta_seconds(10.0, 100, 0, 400) == Approx(30.0));
  CHECK(samples::eta_seconds(0.0, 300, 300, 400) == 0.0);  // nothing run yet
}
