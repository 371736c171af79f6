// Modules: PyTorch state-dict names, train()/eval() semantics of dropout and batch norm,
// seeded initialisation, checkpoint round trips.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <vktrain/nn.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {
std::shared_ptr<nn::Sequential> small_cnn(const Device& device) {
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Conv2d>(device, 1, 4, 3, Conv2dParams{.pad_h = 1, .pad_w = 1}))
      .add(std::make_shared<nn::BatchNorm2d>(device, 4))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::MaxPool2d>(2))
      .add(std::make_shared<nn::Dropout>(device, 0.5f))
      .add(std::make_shared<nn::Flatten>())
      .add(std::make_shared<nn::Linear>(device, 4 * 3 * 3, 3));
  return model;
}
std::vector<std::string> names(const NamedTensors& tensors) {
  std::vector<std::string> result;
  for (const auto& [name, tensor] : tensors) result.push_back(name);
  return result;
}
// One training step (forward, cross-entropy, backward) of `fused` and of `plain` (the same
// weights, fuse(false)) on the same input; checks outputs and every gradient bit for bit and
// returns the fused output and the dispatches each step took.
struct FusedStep {
  std::vector<float> y;
  uint64_t fused_dispatches = 0, plain_dispatches = 0;
};
FusedStep check_fused_step(nn::Sequential& fused, nn::Sequential& plain, const std::vector<float>& input,
                           const Shape& shape, const Tensor& labels) {
  Scheduler& scheduler = labels.device().scheduler();
  auto step = [&](nn::Sequential& model, nn::Variable& x) {
    uint64_t before = scheduler.stats().dispatches;
    nn::Variable y = model(x);
    nn::backward(nn::F::cross_entropy(y, labels));
    return std::pair{y.value().to_host(), scheduler.stats().dispatches - before};
  };
  nn::Variable x_fused(Tensor::from_host(labels.device(), input, shape), true);
  nn::Variable x_plain(Tensor::from_host(labels.device(), input, shape), true);
  auto fused_result = step(fused, x_fused);
  auto plain_result = step(plain, x_plain);
  CHECK(fused_result.first == plain_result.first);
  CHECK(x_fused.grad().to_host() == x_plain.grad().to_host());
  auto fused_params = fused.named_parameters(), plain_params = plain.named_parameters();
  REQUIRE(fused_params.size() == plain_params.size());
  for (size_t i = 0; i < fused_params.size(); ++i) {
    INFO(fused_params[i].first);
    CHECK(fused_params[i].second.grad().to_host() == plain_params[i].second.grad().to_host());
  }
  return {fused_result.first, fused_result.second, plain_result.second};
}
}  // namespace

TEST_CASE("modules: state dict uses PyTorch's names", "[nn]") {
  const Device& device = testing::test_device();
  auto model = small_cnn(device);
  CHECK(names(model->state_dict()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                 "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"});
  CHECK(names(model->named_extra_state()) == std::vector<std::string>{"4.step"});
  CHECK_THAT(model->describe(), Catch::Contains("(1): BatchNorm2d(4, eps=1e-05, momentum=0.1"));
}

TEST_CASE("modules: the same seed gives the same initial weights", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(42);
  nn::Linear a(device, 50, 20);
  nn::manual_seed(42);
  nn::Linear b(device, 50, 20);
  nn::Linear c(device, 50, 20);  // the next streams: different weights
  std::vector<float> wa = a.weight().value().to_host();
  CHECK(wa == b.weight().value().to_host());
  CHECK(wa != c.weight().value().to_host());
  // PyTorch's default: uniform in ±1/√in_features, spread over the whole range.
  float bound = 1.0f / std::sqrt(50.0f), largest = 0;
  for (float v : wa) largest = std::max(largest, std::abs(v));
  CHECK(largest <= bound);
  CHECK(largest > 0.95f * bound);
}

TEST_CASE("modules: dropout is random in train() and the identity in eval()", "[nn]") {
  const Device& device = testing::test_device();
  nn::Dropout dropout(device, 0.5f);
  std::vector<float> ones(1000, 1.0f);
  nn::Variable x(Tensor::from_host(device, ones, {10, 100}));
  std::vector<float> first = dropout(x).value().to_host(), second = dropout(x).value().to_host();
  CHECK(first != second);  // the step counter advanced on the device
  for (float v : first) REQUIRE((v == 0.0f || v == 2.0f));
  dropout.eval();
  CHECK(dropout(x).value().to_host() == ones);
  CHECK(dropout(x).value().to_host() == ones);
}

TEST_CASE("modules: batch norm uses batch statistics in train() and running ones in eval()", "[nn]") {
  const Device& device = testing::test_device();
  nn::BatchNorm2d bn(device, 2);
  std::vector<float> values = {1, 2, 3, 4, 10, 20, 30, 40};  // (1, 2, 2, 2)
  nn::Variable x(Tensor::from_host(device, values, {1, 2, 2, 2}));
  std::vector<float> y = bn(x).value().to_host();
  // Training: each channel normalised by its own batch statistics.
  double mean = 2.5, var = 1.25;
  CHECK(std::abs(y[0] - (1 - mean) / std::sqrt(var + 1e-5)) < 1e-5);
  CHECK(std::abs(y[4] - (10 - 25) / std::sqrt(125 + 1e-5)) < 1e-5);
  // Running statistics moved 10% of the way, with the unbiased variance (5/3 for channel 0).
  CHECK(std::abs(bn.running_mean().to_host()[0] - 0.25f) < 1e-6);
  CHECK(std::abs(bn.running_var().to_host()[0] - (0.9f + 0.1f * 5.0f / 3.0f)) < 1e-6);
  CHECK(bn.num_batches_tracked().to_host_u32()[0] == 1);
  bn.eval();
  std::vector<float> eval = bn(x).value().to_host();
  CHECK(std::abs(eval[0] - (1 - 0.25) / std::sqrt(0.9 + 0.5 / 3 + 1e-5)) < 1e-5);
  CHECK(bn.num_batches_tracked().to_host_u32()[0] == 1);  // eval updates nothing
}

TEST_CASE("modules: Sequential runs Linear + ReLU in the matmul epilogue, bit-identical", "[nn]") {
  const Device& device = testing::test_device();
  // 13 -> 11 -> 7 -> 5 on a batch of 6: odd sizes everywhere, two fusable pairs.
  auto build = [&] {
    nn::manual_seed(11);
    auto model = std::make_shared<nn::Sequential>();
    model->add(std::make_shared<nn::Linear>(device, 13, 11))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Linear>(device, 11, 7))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Linear>(device, 7, 5));
    return model;
  };
  auto fused = build(), plain = build();
  plain->fuse(false);
  std::vector<float> input(6 * 13);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::cos(0.61f * float(i)) * 1.5f;
  Tensor labels = Tensor::from_host(device, std::vector<int32_t>{4, 0, 2, 1, 3, 0}, {6});
  FusedStep result = check_fused_step(*fused, *plain, input, {6, 13}, labels);
  auto fused_params = fused->named_parameters();
  // The first hidden layer clipped something (the mask mattered) but not everything.
  std::vector<float> hidden = nn::F::linear(nn::Variable(Tensor::from_host(device, input, {6, 13})),
                                            fused_params[0].second, fused_params[1].second, true)
                                  .value()
                                  .to_host();
  size_t zeros = size_t(std::count(hidden.begin(), hidden.end(), 0.0f));
  CHECK(zeros > 0);
  CHECK(zeros < hidden.size());
  // Each fused pair saves its forward ReLU dispatch; the backward masks with the same kernel.
  CHECK(result.fused_dispatches + 2 == result.plain_dispatches);
}

TEST_CASE("modules: Sequential runs Linear + ReLU + Dropout in one matmul, bit-identical", "[nn]") {
  const Device& device = testing::test_device();
  // 13 -> 11 -> 7 -> 5 on a batch of 6, two fusable triples (the MLP sample's pattern).
  auto build = [&] {
    nn::manual_seed(23);
    auto model = std::make_shared<nn::Sequential>();
    model->add(std::make_shared<nn::Linear>(device, 13, 11))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Dropout>(device, 0.4f))
        .add(std::make_shared<nn::Linear>(device, 11, 7))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Dropout>(device, 0.3f))
        .add(std::make_shared<nn::Linear>(device, 7, 5));
    return model;
  };
  auto fused = build(), plain = build();
  plain->fuse(false);
  std::vector<float> input(6 * 13);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::cos(0.37f * float(i)) * 1.5f;
  Tensor labels = Tensor::from_host(device, std::vector<int32_t>{1, 0, 4, 3, 2, 0}, {6});
  // Two steps: the second draws new masks (the step counters advanced alike).
  FusedStep first = check_fused_step(*fused, *plain, input, {6, 13}, labels);
  FusedStep second = check_fused_step(*fused, *plain, input, {6, 13}, labels);
  CHECK(first.y != second.y);
  // Each triple saves the ReLU and dropout dispatches forward and one of the two backward.
  CHECK(first.fused_dispatches + 6 == first.plain_dispatches);
  // The first hidden layer's dropout dropped positive activations: the fused forward's hidden
  // output has more zeros than linear + relu's.
  auto params = fused->named_parameters();
  auto* dropout = dynamic_cast<nn::Dropout*>((*fused)[2].get());
  REQUIRE(dropout != nullptr);
  nn::Variable x(Tensor::from_host(device, input, {6, 13}));
  std::vector<float> relu =
      nn::F::linear(x, params[0].second, params[1].second, true).value().to_host();
  std::vector<float> dropped = nn::F::linear_relu_dropout(x, params[0].second, params[1].second,
                                                          dropout->step(), dropout->params())
                                   .value()
                                   .to_host();
  CHECK(std::count(dropped.begin(), dropped.end(), 0.0f) >
        std::count(relu.begin(), relu.end(), 0.0f));
  // eval(): the dropouts are the identity; only the Linear + ReLU pairs fuse.
  fused->eval();
  plain->eval();
  FusedStep evaluated = check_fused_step(*fused, *plain, input, {6, 13}, labels);
  CHECK(evaluated.fused_dispatches + 2 == evaluated.plain_dispatches);
  CHECK(nn::F::linear_relu_dropout(x, params[0].second, params[1].second, dropout->step(),
                                   dropout->params())
            .value()
            .to_host() == relu);
}

TEST_CASE("modules: the fused Linear + ReLU passes NaN through, as torch.relu", "[nn]") {
  const Device& device = testing::test_device();
  std::vector<float> x(3 * 4, 0.5f);
  x[5] = NAN;  // row 1
  nn::Variable input(Tensor::from_host(device, x, {3, 4}));
  nn::Variable weight(Tensor::from_host(device, std::vector<float>(2 * 4, -1.0f), {2, 4}));
  std::vector<float> y = nn::F::linear(input, weight, {}, true).value().to_host();
  // Rows 0 and 2: relu(-2) = 0; row 1: NaN.
  CHECK(y[0] == 0.0f);
  CHECK(y[4] == 0.0f);
  CHECK(std::isnan(y[2]));
  CHECK(std::isnan(y[3]));
}

TEST_CASE("modules: Sequential fuses BatchNorm + ReLU with bit-identical results", "[nn]") {
  const Device& device = testing::test_device();
  // conv - BN2d - ReLU - flatten - linear - BN1d - ReLU on (3, 2, 7, 9): odd planes and columns.
  auto build = [&] {
    nn::manual_seed(7);
    auto model = std::make_shared<nn::Sequential>();
    model->add(std::make_shared<nn::Conv2d>(device, 2, 5, 3, Conv2dParams{.pad_h = 1, .pad_w = 1}, false))
        .add(std::make_shared<nn::BatchNorm2d>(device, 5))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Flatten>())
        .add(std::make_shared<nn::Linear>(device, 5 * 7 * 9, 4))
        .add(std::make_shared<nn::BatchNorm1d>(device, 4))
        .add(std::make_shared<nn::ReLU>());
    return model;
  };
  auto fused = build(), plain = build();
  plain->fuse(false);
  CHECK(fused->fused());
  std::vector<float> input(3 * 2 * 7 * 9);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.37f * float(i)) * 2.0f;
  std::vector<int32_t> labels = {0, 3, 1};
  Tensor labels_gpu = Tensor::from_host(device, labels, {3});
  FusedStep result = check_fused_step(*fused, *plain, input, {3, 2, 7, 9}, labels_gpu);
  size_t zeros = size_t(std::count(result.y.begin(), result.y.end(), 0.0f));
  CHECK(zeros > 0);  // the ReLU clipped something
  CHECK(zeros < result.y.size());
  // Plain loop variables, not a structured binding: clang 14 cannot capture a binding in a lambda.
  auto plain_buffers = plain->named_buffers();
  for (const auto& fused_buffer : fused->named_buffers()) {
    const std::string& name = fused_buffer.first;
    INFO(name);
    auto it = std::find_if(plain_buffers.begin(), plain_buffers.end(),
                           [&](const auto& b) { return b.first == name; });
    REQUIRE(it != plain_buffers.end());
    if (fused_buffer.second.dtype() == DType::f32)
      CHECK(fused_buffer.second.to_host() == it->second.to_host());
  }
  // Two ReLUs ran inside the batch norms: one dispatch fewer each way for each.
  CHECK(result.fused_dispatches + 4 == result.plain_dispatches);
  // Eval: running statistics, the same fusion.
  fused->eval();
  plain->eval();
  nn::Variable x(Tensor::from_host(device, input, {3, 2, 7, 9}));
  CHECK((*fused)(x).value().to_host() == (*plain)(x).value().to_host());
}

TEST_CASE("modules: a model's checkpoint round trips", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(1);
  auto model = small_cnn(device);
  std::vector<float> input(2 * 6 * 6, 0.5f);
  (*model)(nn::Variable(Tensor::from_host(device, input, {2, 1, 6, 6})));  // moves running stats
  auto path = std::filesystem::temp_directory_path() / ("vktrain-model-" + std::to_string(::getpid()));
  model->save(path);
  nn::manual_seed(2);
  auto other = small_cnn(device);
  CHECK(other->state_dict()[0].second.to_host() != model->state_dict()[0].second.to_host());
  other->load(path);
  auto a = model->state_dict(), b = other->state_dict();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].second.to_host_raw() == b[i].second.to_host_raw());
  }
  std::filesystem::remove(path);
}

TEST_CASE("modules: DropConnect and weight noise act in train() only", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(9);
  nn::Linear plain(device, 40, 30);
  nn::manual_seed(9);
  nn::Linear connected(device, 40, 30);
  connected.drop_connect(0.5f);
  std::vector<float> ones(4 * 40, 1.0f);
  nn::Variable x(Tensor::from_host(device, ones, {4, 40}));
  std::vector<float> reference = plain(x).value().to_host();
  std::vector<float> first = connected(x).value().to_host(), second = connected(x).value().to_host();
  CHECK(first != reference);
  CHECK(first != second);  // a new mask each step
  connected.eval();
  CHECK(connected(x).value().to_host() == reference);
  // The gradient flows to the weight through the mask: masked weights get none.
  connected.train();
  nn::backward(nn::F::sum(connected(x)));
  std::vector<float> grad = connected.weight().grad().to_host();
  size_t zeros = size_t(std::count(grad.begin(), grad.end(), 0.0f));
  CHECK(zeros > grad.size() / 4);
  CHECK(zeros < grad.size() * 3 / 4);
  nn::Linear noisy(device, 40, 30);
  noisy.weight_noise(0.1f);
  CHECK(noisy(x).value().to_host() != noisy(x).value().to_host());
  CHECK_THROWS_WITH(connected.drop_connect(1.5f), Catch::Contains("Linear::drop_connect"));
}

TEST_CASE("modules: Kaiming and Xavier initialisation match torch.nn.init's scales", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(21);
  Tensor w = Tensor::empty(device, {256, 64, 3, 3});  // fan_in 576, fan_out 2304
  auto moments = [&] {
    std::vector<float> v = w.to_host();
    double mean = 0, square = 0, largest = 0;
    for (float x : v) {
      mean += x / double(v.size());
      square += double(x) * x / double(v.size());
      largest = std::max(largest, double(std::abs(x)));
    }
    return std::array<double, 3>{mean, std::sqrt(square - mean * mean), largest};
  };
  CHECK(nn::init::fans(w.shape()) == std::pair<int64_t, int64_t>{576, 2304});
  CHECK(nn::init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain("leaky_relu", 0.2f) == Approx(std::sqrt(2.0 / 1.04)));
  // 147,456 samples: the standard deviation is within 1% of its target.
  nn::init::kaiming_normal(w, 0.0f, nn::init::FanMode::fan_in, "relu");
  CHECK(moments()[1] == Approx(std::sqrt(2.0 / 576)).epsilon(0.01));
  nn::init::kaiming_uniform(w, 0.0f, nn::init::FanMode::fan_out, "relu");
  double bound = std::sqrt(2.0) * std::sqrt(3.0 / 2304);
  CHECK(moments()[2] <= bound);
  CHECK(moments()[1] == Approx(bound / std::sqrt(3.0)).epsilon(0.01));
  nn::init::xavier_uniform(w);
  CHECK(moments()[2] <= std::sqrt(6.0 / (576 + 2304)));
  nn::init::xavier_normal(w, 2.0f);
  CHECK(moments()[1] == Approx(2.0 * std::sqrt(2.0 / (576 + 2304))).epsilon(0.01));
  CHECK(std::abs(moments()[0]) < 1e-3);
  CHECK_THROWS_WITH(nn::init::fans({7}), Catch::Contains("2 or more dimensions"));
}
