// The sample models. Change the model in one place: here.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <vktrain/nn.hpp>

namespace samples {

struct ModelConfig {
  std::string kind = "cnn";   // "mlp" or "cnn"
  float dropout = -1.0f;      // hidden dropout; < 0 means the model's default (mlp 0.5, cnn 0.25)
  float input_dropout = -1.0f;  // mlp only: dropout on the pixels (default 0.2)
  bool batchnorm = true;      // cnn: BatchNorm2d after each conv; mlp: BatchNorm1d after each hidden layer
  int64_t hidden = 1024;      // mlp hidden width
  float input_noise = 0.0f;   // Gaussian noise on the inputs (sigma), 0 = off
  std::vector<int64_t> conv_channels = {32, 64};  // cnn: one block (and one 2x2 pool) per entry
  int convs_per_block = 1;    // cnn: conv3x3-BN-ReLU layers before each pool
  int64_t cnn_hidden = 128;   // cnn: width of the hidden linear layer
};

// mlp: the dropout paper's network, 784-1024-1024-10 with ReLU, dropout 0.2 on the inputs and 0.5
// on the hidden layers. cnn: [conv3x3-BN-ReLU (x convs_per_block) - maxpool2] per entry of
// conv_channels (default x2: 32, 64 channels), dropout, a 128-unit hidden layer and a linear head.
std::shared_ptr<vkt::nn::Sequential> build_model(const vkt::Device& device, const ModelConfig& config,
                                                 int64_t channels, int64_t height, int64_t width,
                                                 int64_t classes);

}  // namespace samples
