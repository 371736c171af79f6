// torch.nn.init on the GPU: every fill draws the next Philox stream of the current generator.
#include <cmath>

#include "core/check.hpp"
#include "vktrain/nn.hpp"

namespace vkt::nn::init {

float calculate_gain(const std::string& nonlinearity, float param) {
  if (nonlinearity == "linear" || nonlinearity == "conv2d" || nonlinearity == "sigmoid" ||
      nonlinearity == "conv1d" || nonlinearity == "identity")
    return 1.0f;
  if (nonlinearity == "tanh") return 5.0f / 3.0f;
  if (nonlinearity == "relu") return std::sqrt(2.0f);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0f / (1.0f + param * param));
  if (nonlinearity == "selu") return 0.75f;
  throw Error("calculate_gain: unsupported nonlinearity '" + nonlinearity + "'");
}

std::pair<int64_t, int64_t> fans(const Shape& shape) {
  VKT_REQUIRE(shape.size() >= 2, "init",
              "fan in and fan out need a tensor of 2 or more dimensions, got " + shape_str(shape));
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

void uniform(const Tensor& tensor, float lo, float hi) {
  uniform_fill(tensor, lo, hi, initial_seed(), next_stream());
}

void normal(const Tensor& tensor, float mean, float std) {
  normal_fill(tensor, mean, std, initial_seed(), next_stream());
}

namespace {
float kaiming_std(const Tensor& tensor, float a, FanMode mode, const std::string& nonlinearity) {
  auto [fan_in, fan_out] = fans(tensor.shape());
  float gain = calculate_gain(nonlinearity, a);
  return gain / std::sqrt(float(mode == FanMode::fan_in ? fan_in : fan_out));
}
}  // namespace

void kaiming_uniform(const Tensor& tensor, float a, FanMode mode, const std::string& nonlinearity) {
  float bound = std::sqrt(3.0f) * kaiming_std(tensor, a, mode, nonlinearity);
  uniform(tensor, -bound, bound);
}

void kaiming_normal(const Tensor& tensor, float a, FanMode mode, const std::string& nonlinearity) {
  normal(tensor, 0.0f, kaiming_std(tensor, a, mode, nonlinearity));
}

void xavier_uniform(const Tensor& tensor, float gain) {
  auto [fan_in, fan_out] = fans(tensor.shape());
  float bound = gain * std::sqrt(6.0f / float(fan_in + fan_out));
  uniform(tensor, -bound, bound);
}

void xavier_normal(const Tensor& tensor, float gain) {
  auto [fan_in, fan_out] = fans(tensor.shape());
  normal(tensor, 0.0f, gain * std::sqrt(2.0f / float(fan_in + fan_out)));
}

}  // namespace vkt::nn::init
