// A small CNN on Fashion-MNIST: [conv3x3-BatchNorm-ReLU, maxpool] x2 (32 and 64 channels), dropout,
// a 128-unit hidden layer; Adam with a cosine schedule over 20 epochs, augmentation (random crops
// and flips on the GPU). `vktrain-train --convs-per-block 2` trains the deeper variant.
#include <cstdio>

#include "trainer.hpp"

int main(int argc, char** argv) {
  samples::TrainConfig config;
  config.model = {.kind = "cnn", .dropout = 0.25f, .batchnorm = true, .convs_per_block = 1};
  config.optimizer = "adam";
  config.lr = 2e-3;
  config.schedule = "cosine";
  config.augment = true;
  config.epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  config.out_dir = "runs/cnn";

  samples::Trainer trainer(config);
  samples::RunResult result = trainer.run();
  std::printf("%s\n", samples::summary_line("cnn: ", result, config).c_str());
}
