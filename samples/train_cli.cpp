// vktrain-train: train a model on Fashion-MNIST (or any MNIST-format data) from the command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include <vktrain/error.hpp>

#include "trainer.hpp"

int main(int argc, char** argv) {
  samples::TrainConfig c;
  std::string batchnorm = "on";
  bool no_capture = false;
  CLI::App app{"Train a network on Fashion-MNIST with vktrain (Vulkan compute on any GPU)."};
  app.add_option("--model", c.model.kind, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
  app.add_option("--data", c.data_dir, "directory of MNIST-format files")->capture_default_str();
  app.add_option("--epochs", c.epochs, "training epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch-size", c.batch_size, "images per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "sgd, adam, adamw, rmsprop, adagrad or adadelta")
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"}))->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate (default: the optimizer's usual one)")->check(CLI::NonNegativeNumber);
  app.add_option("--momentum", c.momentum, "SGD/RMSprop momentum")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "the optimizer's weight decay (decoupled in adamw)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--l1", c.l1, "L1 penalty λ (loss += λ‖θ‖₁)")->check(CLI::NonNegativeNumber);
  app.add_option("--l2", c.l2, "L2 penalty λ (loss += λ/2‖θ‖²)")->check(CLI::NonNegativeNumber);
  app.add_option("--dropout", c.model.dropout, "hidden dropout probability")->check(CLI::Range(0.0, 1.0));
  app.add_option("--input-dropout", c.model.input_dropout, "mlp: dropout on the inputs")->check(CLI::Range(0.0, 1.0));
  app.add_option("--input-noise", c.model.input_noise, "Gaussian noise sigma on the inputs")->check(CLI::NonNegativeNumber);
  app.add_option("--conv-channels", c.model.conv_channels, "cnn: channels of each conv block (each ends in a 2x2 pool)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--cnn-hidden", c.model.cnn_hidden, "cnn: width of the hidden linear layer")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--convs-per-block", c.model.convs_per_block, "cnn: conv3x3-BN-ReLU layers per block")
      ->check(CLI::Range(1, 4))->capture_default_str();
  app.add_option("--batchnorm", batchnorm, "on or off")->check(CLI::IsMember({"on", "off"}))->capture_default_str();
  app.add_option("--max-norm", c.max_norm, "max-norm constraint on Linear weights (0: off)")->check(CLI::NonNegativeNumber);
  app.add_option("--on-nonfinite", c.on_nonfinite, "a NaN/Inf loss: stop with an error, or skip the step")
      ->check(CLI::IsMember({"stop", "skip"}))->capture_default_str();
  app.add_option("--matmul-precision", c.matmul_precision,
                 "Linear layers' matmuls: float32, or float16 inputs with float32 sums (mixed precision)")
      ->check(CLI::IsMember({"float32", "float16"}))->capture_default_str();
  app.add_flag("--loss-scaling", c.loss_scaling,
               "dynamic loss scaling (GradScaler) for small gradients in float16 matmuls");
  app.add_option("--label-smoothing", c.label_smoothing, "cross-entropy label smoothing")->check(CLI::Range(0.0, 1.0));
  app.add_option("--schedule", c.schedule, "none, cosine or step")->check(CLI::IsMember({"none", "cosine", "step"}));
  app.add_flag("--augment", c.augment, "random crops and flips on the GPU");
  app.add_option("--rotation", c.rotation, "with --augment: random rotation in [-D, D] degrees")
      ->option_text("DEGREES")->check(CLI::Range(0.0, 180.0));
  app.add_option("--early-stopping", c.early_stopping, "stop after PATIENCE epochs without improvement")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", c.seed, "seed for weights, dropout, shuffling and the split")->capture_default_str();
  app.add_option("--device", c.device, "device index or name substring (default: the best)");
  app.add_option("--out", c.out_dir, "write metrics.csv, config.json and checkpoints here");
  app.add_option("--resume", c.resume, "continue from a checkpoint (last.safetensors)")->check(CLI::ExistingFile);
  app.add_option("--max-train", c.max_train, "use only N training images (quick runs)")->check(CLI::NonNegativeNumber);
  app.add_option("--validation", c.validation, "images held out for validation (0: train on all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--no-capture", no_capture, "record every step instead of replaying a captured one");
  app.add_option("--profile", c.profile_steps,
                 "time STEPS eager steps after the first by kernel (vkt::Profiler); print the table, "
                 "write profile.txt")
      ->option_text("STEPS")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  c.model.batchnorm = batchnorm == "on";
  c.capture = !no_capture;

  try {
    samples::Trainer trainer(c);
    std::printf("training %s with %s on %s\n", c.model.kind.c_str(), c.optimizer.c_str(),
                trainer.device().info().name.c_str());
    samples::RunResult result = trainer.run();
    std::printf("%s\n", samples::summary_line("", result, c).c_str());
    if (!c.out_dir.empty()) std::printf("results in %s\n", c.out_dir.c_str());
    return result.interrupted ? 130 : 0;
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "vktrain-train: %s\n", error.what());
    return 1;
  }
}
