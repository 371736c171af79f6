// Parity with PyTorch on a real model: a small CNN with BatchNorm trained for 20 SGD-momentum steps
// and 20 Adam steps from the same initial weights on the same batches as torch_parity.py did with
// PyTorch 1.13; losses, final parameters and running statistics must agree.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vktrain/nn.hpp>
#include <vktrain/optim.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {

const char* kData = VKTRAIN_TEST_DATA_DIR "/torch_parity.safetensors";

std::shared_ptr<nn::Sequential> parity_model(const Device& device) {
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Conv2d>(device, 1, 4, 3, Conv2dParams{.pad_h = 1, .pad_w = 1}, false))
      .add(std::make_shared<nn::BatchNorm2d>(device, 4))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::MaxPool2d>(2))
      .add(std::make_shared<nn::Dropout>(device, 0.0f))
      .add(std::make_shared<nn::Flatten>())
      .add(std::make_shared<nn::Linear>(device, 4 * 4 * 4, 5));
  return model;
}

std::vector<float> floats(const StoredTensor& stored) {
  std::vector<float> values(stored.bytes.size() / 4);
  std::memcpy(values.data(), stored.bytes.data(), stored.bytes.size());
  return values;
}

double relative(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff += double(got[i] - want[i]) * double(got[i] - want[i]);
    norm += double(want[i]) * double(want[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

void run_parity(const std::string& which) {
  const Device& device = testing::test_device();
  std::map<std::string, StoredTensor> file = read_safetensors(kData);
  auto model = parity_model(device);
  NamedTensors initial;
  for (const auto& [name, tensor] : model->state_dict()) initial.emplace_back("initial." + name, tensor);
  load_safetensors(kData, initial, /*strict=*/false);

  std::vector<optim::ParamRef> params;
  for (const auto& [name, p] : model->named_parameters()) params.push_back({name, p.value(), p.grad()});
  std::unique_ptr<optim::Optimizer> optimizer;
  if (which == "sgd") optimizer = std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
  else optimizer = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = 0.01});

  std::vector<float> inputs = floats(file.at("inputs"));
  const StoredTensor& stored_labels = file.at("labels");
  std::vector<int32_t> labels(stored_labels.bytes.size() / 4);
  std::memcpy(labels.data(), stored_labels.bytes.data(), stored_labels.bytes.size());
  const int64_t steps = 20, batch = 8, image = 64;
  Tensor x = Tensor::empty(device, {batch, 1, 8, 8});
  Tensor y = Tensor::empty(device, {batch}, DType::i32);
  std::vector<float> losses;
  for (int64_t step = 0; step < steps; ++step) {
    x.upload(std::span<const float>(inputs.data() + step * batch * image, size_t(batch * image)));
    y.upload_raw({reinterpret_cast<const uint8_t*>(labels.data() + step * batch), size_t(batch) * 4});
    optimizer->zero_grad();
    nn::Variable loss = nn::F::cross_entropy((*model)(nn::Variable(x)), y);
    nn::backward(loss);
    optimizer->step();
    losses.push_back(loss.value().to_host()[0]);
  }
  // float32 on both sides, different summation orders: differences of a few ulps per op grow
  // through 20 steps of training; 1e-4 relative is far below any semantic difference (a wrong
  // momentum rule, biased running variance or a missing bias correction moves these by > 1e-2).
  INFO(which << " losses");
  CHECK(relative(losses, floats(file.at(which + ".losses"))) < 1e-4);
  for (const auto& [name, tensor] : model->state_dict()) {
    INFO(which << " " << name);
    const StoredTensor& want = file.at(which + "." + name);
    if (name.find("num_batches_tracked") != std::string::npos) {
      int64_t count;
      std::memcpy(&count, want.bytes.data(), 8);
      CHECK(tensor.to_host_u32()[0] == uint32_t(count));
    } else {
      CHECK(relative(tensor.to_host(), floats(want)) < 1e-4);
    }
  }
}

}  // namespace

TEST_CASE("parity with PyTorch: 20 SGD-momentum steps of a CNN with BatchNorm", "[train]") { run_parity("sgd"); }
TEST_CASE("parity with PyTorch: 20 Adam steps of a CNN with BatchNorm", "[train]") { run_parity("adam"); }
