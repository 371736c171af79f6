#include "models.hpp"

#include <vktrain/error.hpp>

namespace samples {

using namespace vkt;

namespace {

std::shared_ptr<nn::Sequential> mlp(const Device& device, const ModelConfig& c, int64_t inputs,
                                     int64_t classes) {
  float hidden_dropout = c.dropout < 0 ? 0.5f : c.dropout;
  float input_dropout = c.input_dropout < 0 ? 0.2f : c.input_dropout;
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Flatten>());
  if (c.input_noise > 0) model->add(std::make_shared<nn::GaussianNoise>(device, c.input_noise));
  if (input_dropout > 0) model->add(std::make_shared<nn::Dropout>(device, input_dropout));
  int64_t width = inputs;
  for (int layer = 0; layer < 2; ++layer) {
    model->add(std::make_shared<nn::Linear>(device, width, c.hidden));
    if (c.batchnorm) model->add(std::make_shared<nn::BatchNorm1d>(device, c.hidden));
    model->add(std::make_shared<nn::ReLU>());
    if (hidden_dropout > 0) model->add(std::make_shared<nn::Dropout>(device, hidden_dropout));
    width = c.hidden;
  }
  model->add(std::make_shared<nn::Linear>(device, width, classes));
  return model;
}

std::shared_ptr<nn::Sequential> cnn(const Device& device, const ModelConfig& c, int64_t channels,
                                    int64_t height, int64_t width, int64_t classes) {
  float dropout = c.dropout < 0 ? 0.25f : c.dropout;
  auto model = std::make_shared<nn::Sequential>();
  if (c.input_noise > 0) model->add(std::make_shared<nn::GaussianNoise>(device, c.input_noise));
  const Conv2dParams same{.pad_h = 1, .pad_w = 1};
  int64_t in = channels;
  if (c.conv_channels.empty() || c.convs_per_block < 1 || c.cnn_hidden < 1)
    throw Error("build_model: the cnn needs at least one conv block, one conv per block and a hidden width");
  for (int64_t out : c.conv_channels) {
    if (out < 1 || height < 2 || width < 2)
      throw Error("build_model: a conv block of " + std::to_string(out) + " channels on a " +
                  std::to_string(height) + "x" + std::to_string(width) + " map (needs >= 1 channel, 2x2)");
    for (int conv = 0; conv < c.convs_per_block; ++conv) {
      model->add(std::make_shared<nn::Conv2d>(device, conv == 0 ? in : out, out, 3, same,
                                              /*bias=*/!c.batchnorm));
      if (c.batchnorm) model->add(std::make_shared<nn::BatchNorm2d>(device, out));
      model->add(std::make_shared<nn::ReLU>());
    }
    model->add(std::make_shared<nn::MaxPool2d>(2));
    in = out;
    height /= 2;
    width /= 2;
  }
  model->add(std::make_shared<nn::Flatten>());
  if (dropout > 0) model->add(std::make_shared<nn::Dropout>(device, dropout));
  model->add(std::make_shared<nn::Linear>(device, in * height * width, c.cnn_hidden));
  model->add(std::make_shared<nn::ReLU>());
  if (dropout > 0) model->add(std::make_shared<nn::Dropout>(device, dropout));
  model->add(std::make_shared<nn::Linear>(device, c.cnn_hidden, classes));
  return model;
}

}  // namespace

std::shared_ptr<nn::Sequential> build_model(const Device& device, const ModelConfig& config,
                                            int64_t channels, int64_t height, int64_t width,
                                            int64_t classes) {
  if (config.kind == "mlp") return mlp(device, config, channels * height * width, classes);
  if (config.kind == "cnn") return cnn(device, config, channels, height, width, classes);
  throw Error("build_model: unknown model '" + config.kind + "' (expected mlp or cnn)");
}

}  // namespace samples
