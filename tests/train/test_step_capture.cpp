// Whole-step capture: replays equal eager steps bit for bit (dropout masks advance, BatchNorm's
// running statistics move), and a changed signature re-captures. Early stopping keeps the best state.
#include <catch2/catch.hpp>

#include <vktrain/train.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {

std::shared_ptr<nn::Sequential> make_model(const Device& device) {
  nn::manual_seed(77);
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Linear>(device, 12, 16))
      .add(std::make_shared<nn::BatchNorm1d>(device, 16))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::Dropout>(device, 0.3f))
      .add(std::make_shared<nn::Linear>(device, 16, 5));
  return model;
}

// One step without an optimizer: fresh gradients of the cross-entropy loss.
void record_step(nn::Sequential& model, const Tensor& x, const Tensor& labels) {
  model.zero_grad();
  nn::backward(nn::F::cross_entropy(model(nn::Variable(x)), labels));
}

std::vector<std::vector<uint8_t>> snapshot(const nn::Module& model) {
  std::vector<std::vector<uint8_t>> bytes;
  for (const auto& [name, tensor] : model.state_dict()) bytes.push_back(tensor.to_host_raw());
  for (const auto& [name, parameter] : model.named_parameters()) bytes.push_back(parameter.grad().to_host_raw());
  for (const auto& [name, state] : model.named_extra_state()) bytes.push_back(state.to_host_raw());
  return bytes;
}

}  // namespace

TEST_CASE("capture: replayed steps equal eager steps bit for bit", "[train]") {
  const Device& device = testing::test_device();
  auto eager = make_model(device);
  auto captured = make_model(device);
  REQUIRE(snapshot(*eager) == snapshot(*captured));

  Tensor x = Tensor::empty(device, {8, 12});
  std::vector<int32_t> label_values = {0, 1, 2, 3, 4, 0, 1, 2};
  Tensor labels = Tensor::from_host(device, label_values, {8});
  train::StepCapture capture(device);
  for (int step = 0; step < 4; ++step) {
    std::vector<float> batch(8 * 12);
    for (size_t i = 0; i < batch.size(); ++i) batch[i] = float((i * 7 + size_t(step) * 13) % 17) / 8.0f - 1.0f;
    x.upload(batch);
    record_step(*eager, x, labels);
    capture.run(train::step_signature(*captured, {x.shape()}, ""),
                [&] { record_step(*captured, x, labels); });
  }
  CHECK(capture.captures() == 1);
  CHECK(capture.replays() == 4);
  CHECK(snapshot(*eager) == snapshot(*captured));
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm>((*captured)[1]);
  CHECK(bn->num_batches_tracked().to_host_u32()[0] == 4);

  // eval() changes what the step does: the signature differs and the step is captured again.
  captured->eval();
  eager->eval();
  capture.run(train::step_signature(*captured, {x.shape()}, ""), [&] { record_step(*captured, x, labels); });
  record_step(*eager, x, labels);
  CHECK(capture.captures() == 2);
  CHECK(snapshot(*eager) == snapshot(*captured));
}

TEST_CASE("early stopping: patience, best epoch and restoring the best weights", "[train]") {
  const Device& device = testing::test_device();
  nn::manual_seed(3);
  nn::Linear layer(device, 4, 2);
  train::EarlyStopping stopping(2, train::EarlyStopping::Mode::max);
  std::vector<float> best_weights = layer.weight().value().to_host();
  CHECK_FALSE(stopping.update(0.50, layer));
  layer.weight().value().fill(1.0f);
  CHECK_FALSE(stopping.update(0.70, layer));  // improved: this state is kept
  std::vector<float> kept = layer.weight().value().to_host();
  layer.weight().value().fill(2.0f);
  CHECK_FALSE(stopping.update(0.65, layer));
  CHECK(stopping.update(0.69, layer));  // two epochs without improvement
  CHECK(stopping.best() == 0.70);
  CHECK(stopping.best_epoch() == 1);
  stopping.restore_best(layer);
  CHECK(layer.weight().value().to_host() == kept);
  CHECK_THROWS_WITH(train::EarlyStopping(0), Catch::Contains("patience"));
}
