// optim::GradScaler (shaders/grad_scaler.comp): dynamic loss scaling as torch.cuda.amp.GradScaler —
// exact unscaling (training equals the unscaled run bit for bit), skipped steps and backoff after
// non-finite gradients, growth after growth_interval good steps (against a host model of torch's
// update), capture, state names and bad settings.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vktrain/optim.hpp>
#include <vktrain/train.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {

std::shared_ptr<nn::Sequential> make_model(const Device& device) {
  nn::manual_seed(5);
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Linear>(device, 12, 16))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::Linear>(device, 16, 5));
  return model;
}

std::vector<optim::ParamRef> params_of(const nn::Module& model) {
  std::vector<optim::ParamRef> params;
  for (const auto& [name, p] : model.named_parameters()) params.push_back({name, p.value(), p.grad()});
  return params;
}

std::vector<std::vector<uint8_t>> weights(const nn::Module& model) {
  std::vector<std::vector<uint8_t>> bytes;
  for (const auto& [name, tensor] : model.state_dict()) bytes.push_back(tensor.to_host_raw());
  return bytes;
}

struct Batch {
  Tensor x, labels;
};

Batch batch(const Device& device, int step) {
  std::vector<float> values(8 * 12);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = float((i * 5 + size_t(step) * 11) % 19) / 9.0f - 1.0f;
  std::vector<int32_t> labels = {0, 1, 2, 3, 4, 4, 3, 2};
  return {Tensor::from_host(device, values, {8, 12}), Tensor::from_host(device, labels, {8})};
}

}  // namespace

TEST_CASE("grad scaler: a power-of-two scale trains exactly as no scaling does", "[train]") {
  const Device& device = testing::test_device();
  auto plain = make_model(device), scaled = make_model(device);
  optim::SGD plain_sgd(params_of(*plain), {.lr = 0.1, .momentum = 0.9});
  optim::SGD scaled_sgd(params_of(*scaled), {.lr = 0.1, .momentum = 0.9});
  optim::GradScaler scaler(device, {.init_scale = 1024.0, .growth_interval = 3});
  for (int step = 0; step < 7; ++step) {
    Batch b = batch(device, step);
    plain->zero_grad();
    nn::backward(nn::F::cross_entropy((*plain)(nn::Variable(b.x)), b.labels));
    plain_sgd.step();
    scaled->zero_grad();
    scaler.backward(nn::F::cross_entropy((*scaled)(nn::Variable(b.x)), b.labels));
    scaler.step(scaled_sgd);
    scaler.update();
  }
  CHECK(weights(*plain) == weights(*scaled));
  // Seven good steps at growth_interval 3: grown twice, one good step since.
  CHECK(scaler.scale() == 4096.0);
  CHECK(scaler.growth_tracker() == 1);
  CHECK(scaled_sgd.skipped_steps().count == 0);
}

// Gradients set by hand (as if scaled): steps with a NaN or an infinity are skipped and halve the
// scale; growth_interval good steps in a row double it — torch's _amp_update_scale_ on the host.
TEST_CASE("grad scaler: skipped steps, backoff and growth follow torch's update", "[train]") {
  const Device& device = testing::test_device();
  Tensor value = Tensor::from_host(device, std::vector<float>{1.0f, -2.0f, 0.5f}, {3});
  Tensor grad = Tensor::zeros(device, {3});
  optim::SGD sgd({{"w", value, grad}}, {.lr = 0.25});
  optim::GradScaler scaler(device, {.init_scale = 8.0, .growth_factor = 2.0,
                                    .backoff_factor = 0.5, .growth_interval = 2});
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  const std::vector<std::vector<float>> grads = {
      {8, 16, -8}, {4, 4, 4}, {1, inf, 1}, {2, 2, 2}, {nan, 0, 0}, {-8, 8, 0}, {1, 1, 1}, {1, 2, 3}};
  std::vector<float> expected = {1.0f, -2.0f, 0.5f};
  double scale = 8.0;
  int64_t tracker = 0, skipped = 0;
  for (size_t step = 0; step < grads.size(); ++step) {
    grad.upload(grads[step]);
    scaler.step(sgd);
    scaler.update();
    bool found = false;
    std::vector<float> unscaled(3);
    for (size_t i = 0; i < 3; ++i) {
      unscaled[i] = grads[step][i] * float(1.0 / scale);
      found = found || !std::isfinite(unscaled[i]);
    }
    if (found) {
      ++skipped;
      scale *= 0.5;
      tracker = 0;
    } else {
      for (size_t i = 0; i < 3; ++i) expected[i] -= 0.25f * unscaled[i];
      if (++tracker == 2) scale *= 2.0, tracker = 0;
    }
    INFO("step " << step);
    CHECK(value.to_host() == expected);
    CHECK(scaler.scale() == scale);
    CHECK(scaler.growth_tracker() == tracker);
    // The gradients were unscaled in place.
    std::vector<float> after = grad.to_host();
    for (size_t i = 0; i < 3; ++i)
      if (std::isfinite(unscaled[i])) CHECK(after[i] == unscaled[i]);
  }
  CHECK(sgd.skipped_steps().count == uint32_t(skipped));
  CHECK(skipped == 2);
}

TEST_CASE("grad scaler: a captured step replays like eager steps, the scale moving", "[train]") {
  const Device& device = testing::test_device();
  auto eager = make_model(device), captured = make_model(device);
  optim::Adam eager_adam(params_of(*eager), {.lr = 0.01});
  optim::Adam captured_adam(params_of(*captured), {.lr = 0.01});
  optim::GradScaler eager_scaler(device, {.growth_interval = 2});
  optim::GradScaler captured_scaler(device, {.growth_interval = 2});
  Batch b = batch(device, 0);
  auto step = [&](nn::Sequential& model, optim::Optimizer& optimizer, optim::GradScaler& scaler) {
    model.zero_grad();
    scaler.backward(nn::F::cross_entropy(model(nn::Variable(b.x)), b.labels));
    scaler.step(optimizer);
    scaler.update();
  };
  train::StepCapture capture(device);
  for (int i = 0; i < 5; ++i) {
    step(*eager, eager_adam, eager_scaler);
    capture.run(train::step_signature(*captured, {b.x.shape()}, ""),
                [&] { step(*captured, captured_adam, captured_scaler); });
  }
  CHECK(capture.replays() == 5);
  CHECK(weights(*eager) == weights(*captured));
  CHECK(captured_scaler.scale() == eager_scaler.scale());
  CHECK(captured_scaler.scale() == 65536.0 * 4);  // grown after steps 2 and 4
}

TEST_CASE("grad scaler: state names and bad settings", "[train]") {
  const Device& device = testing::test_device();
  optim::GradScaler scaler(device);
  auto state = scaler.state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].first == "scale");
  CHECK(state[0].second.to_host() == std::vector<float>{65536.0f});
  CHECK(state[1].first == "growth_tracker");
  CHECK(state[1].second.dtype() == DType::u32);
  CHECK_THROWS_WITH(optim::GradScaler(device, {.init_scale = 0}),
                    Catch::Contains("GradScaler") && Catch::Contains("init_scale 0"));
  CHECK_THROWS_WITH(optim::GradScaler(device, {.growth_factor = 1.0}),
                    Catch::Contains("growth_factor 1 must be > 1"));
  CHECK_THROWS_WITH(optim::GradScaler(device, {.backoff_factor = 1.5}),
                    Catch::Contains("backoff_factor 1.5 must be in (0, 1)"));
  CHECK_THROWS_WITH(optim::GradScaler(device, {.growth_interval = 0}),
                    Catch::Contains("growth_interval 0 must be >= 1"));
  Tensor value = Tensor::zeros(device, {2}), grad = Tensor::zeros(device, {2});
  optim::SGD sgd({{"w", value, grad}}, {.lr = 0.1});
  scaler.unscale(sgd);
  CHECK_THROWS_WITH(scaler.unscale(sgd), Catch::Contains("already called"));
  scaler.step(sgd);  // does not unscale again
  scaler.update();
  scaler.unscale(sgd);  // allowed again after update()
}
