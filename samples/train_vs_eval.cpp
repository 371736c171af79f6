// train() vs eval(), on a trained model:
//  1. dropout in train mode makes two forward passes differ; eval is deterministic;
//  2. BatchNorm in train mode normalizes with the batch's own statistics, so an image's predicted
//     probabilities depend on the other images in its batch; eval uses running statistics;
//  3. MC-dropout: the mean and spread of predictions over T passes with only dropout in train mode.
#include <cmath>
#include <cstdio>
#include <vktrain/error.hpp>

#include "trainer.hpp"

using namespace vkt;

namespace {

std::vector<float> probabilities(nn::Sequential& model, const Tensor& images) {
  nn::NoGrad no_grad;
  Tensor logits = model(nn::Variable(images)).value();
  std::vector<float> z = logits.to_host(), p(z.size());
  int64_t classes = logits.size(1);
  for (int64_t r = 0; r < logits.size(0); ++r) {
    float max = z[size_t(r * classes)], sum = 0;
    for (int64_t c = 0; c < classes; ++c) max = std::max(max, z[size_t(r * classes + c)]);
    for (int64_t c = 0; c < classes; ++c) sum += p[size_t(r * classes + c)] = std::exp(z[size_t(r * classes + c)] - max);
    for (int64_t c = 0; c < classes; ++c) p[size_t(r * classes + c)] /= sum;
  }
  return p;
}

float max_difference(const std::vector<float>& a, const std::vector<float>& b, size_t count) {
  float d = 0;
  for (size_t i = 0; i < count; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

int main() {
  try {
    samples::TrainConfig c;
    c.model = {.kind = "mlp", .dropout = 0.5f, .input_dropout = 0.0f, .batchnorm = true, .hidden = 256};
    c.optimizer = "adam";
    c.epochs = 2;
    c.max_train = 6000;
    c.validation = 1000;
    c.quiet = true;
    samples::Trainer trainer(c);
    samples::RunResult result = trainer.run();
    std::printf("trained an MLP with BatchNorm and dropout 0.5: test accuracy %.3f\n\n", result.test_accuracy);

    nn::Sequential& model = trainer.model();
    const data::Dataset& test = trainer.test_set();
    const int64_t n = 8, size = test.image_size();
    Shape shape{n, test.channels, test.height, test.width};
    Tensor batch = Tensor::from_host(trainer.device(), std::span<const float>(test.images.data(), size_t(n * size)), shape);
    const size_t one_image = size_t(test.num_classes);

    model.eval();
    float eval_diff = max_difference(probabilities(model, batch), probabilities(model, batch), n * one_image);
    std::printf("1. eval(): two passes differ by at most %.2g (deterministic)\n", eval_diff);
    model.train();
    float train_diff = max_difference(probabilities(model, batch), probabilities(model, batch), n * one_image);
    std::printf("   train(): two passes differ by up to %.3f in a probability (dropout masks differ)\n\n", train_diff);

    // Image 0 with seven different images, then with seven copies of image 1: a skewed batch.
    std::vector<float> skewed(test.images.begin(), test.images.begin() + n * size);
    for (int64_t i = 1; i < n; ++i) std::copy_n(test.images.begin() + size, size, skewed.begin() + i * size);
    Tensor skewed_batch = Tensor::from_host(trainer.device(), skewed, shape);
    model.eval();
    float eval_skew = max_difference(probabilities(model, batch), probabilities(model, skewed_batch), one_image);
    model.train();
    for (size_t i = 0; i < model.size(); ++i)  // only BatchNorm in train mode: isolate its effect
      if (model[i]->type_name() == "Dropout") model[i]->eval();
    float train_skew = max_difference(probabilities(model, batch), probabilities(model, skewed_batch), one_image);
    std::printf("2. image 0's probabilities with other batch-mates vs a skewed batch:\n"
                "   eval() (running statistics): differ by %.2g; train() BatchNorm (batch statistics): by %.3f\n\n",
                eval_skew, train_skew);

    // MC-dropout: BatchNorm in eval, dropout active, T passes.
    model.eval();
    for (size_t i = 0; i < model.size(); ++i)
      if (model[i]->type_name() == "Dropout") model[i]->train();
    const int passes = 30;
    std::vector<double> mean(n * one_image, 0), square(n * one_image, 0);
    for (int t = 0; t < passes; ++t) {
      std::vector<float> p = probabilities(model, batch);
      for (size_t i = 0; i < mean.size(); ++i) {
        mean[i] += p[i] / passes;
        square[i] += double(p[i]) * p[i] / passes;
      }
    }
    std::printf("3. MC-dropout over %d passes (true class: mean probability ± std):\n", passes);
    for (int64_t i = 0; i < n; ++i) {
      size_t k = size_t(i) * one_image + size_t(test.labels[size_t(i)]);
      std::printf("   image %lld (%-11s) %.3f ± %.3f\n", (long long)i, test.class_names[size_t(test.labels[size_t(i)])].c_str(),
                  mean[k], std::sqrt(std::max(0.0, square[k] - mean[k] * mean[k])));
    }
  } catch (const Error& error) {
    std::fprintf(stderr, "train_vs_eval: %s\n", error.what());
    return 1;
  }
}
