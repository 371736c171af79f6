// The dropout paper's MLP on Fashion-MNIST: 784-1024-1024-10, ReLU, dropout 0.2 on the inputs and
// 0.5 on the hidden layers, a max-norm constraint of 3, SGD with momentum 0.9 and a cosine schedule.
#include <cstdio>

#include "trainer.hpp"

int main(int argc, char** argv) {
  samples::TrainConfig config;
  config.model = {.kind = "mlp", .dropout = 0.5f, .input_dropout = 0.2f, .batchnorm = false};
  config.optimizer = "sgd";
  config.lr = 0.05;
  config.momentum = 0.9;
  config.max_norm = 3.0;
  config.schedule = "cosine";
  config.epochs = argc > 1 ? std::atoi(argv[1]) : 40;
  config.out_dir = "runs/mlp";

  samples::Trainer trainer(config);
  samples::RunResult result = trainer.run();
  std::printf("%s\n", samples::summary_line("mlp: ", result, config).c_str());
}
