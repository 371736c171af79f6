// Bad input to the public API, one test per class of mistake: every one must throw vkt::Error
// (not another exception, not a crash, not a silent wrong result) whose message names the op and
// what was wrong. Everything here is rejected on the host before any work is recorded, so the
// device is left as it was (checked at the end of each case: it still computes).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vktrain/data.hpp>
#include <vktrain/nn.hpp>
#include <vktrain/optim.hpp>

#include "test_device.hpp"

using namespace vkt;
using Catch::Contains;

namespace {

// `call` must throw vkt::Error whose message holds every fragment (the op's name first).
template <class F>
void check_error(const char* label, F call, std::initializer_list<const char*> fragments) {
  INFO(label);
  try {
    call();
    FAIL_CHECK("no exception was thrown");
  } catch (const Error& error) {
    for (const char* fragment : fragments) CHECK_THAT(error.what(), Contains(fragment));
    CHECK(error.vk_result() == 0);  // an argument error, not a Vulkan failure
  } catch (const std::exception& other) {
    FAIL_CHECK("threw something other than vkt::Error: " << other.what());
  }
}

Tensor ones(const Device& device, Shape shape) {
  return Tensor::full(device, shape, 1.0f);
}

// The device still works after the rejected calls.
void check_device_usable(const Device& device) {
  Tensor x = ones(device, {5});
  CHECK(sum(x).to_host()[0] == 5.0f);
}

std::vector<optim::ParamRef> one_param(const Device& device) {
  return {{"w", Tensor::zeros(device, {3}), Tensor::zeros(device, {3})}};
}

}  // namespace

TEST_CASE("bad input: shape mismatches name the op and the shapes", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Tensor a = ones(device, {2, 3}), b = ones(device, {3, 2}), c = ones(device, {2, 2});
  // Each elementwise op names itself, not its kernel family ("binary", "unary").
  check_error("add", [&] { add(a, b); }, {"add:", "(2, 3)", "(3, 2)"});
  check_error("sub", [&] { sub(a, b); }, {"sub:", "(2, 3)", "(3, 2)"});
  check_error("mul", [&] { mul(a, b); }, {"mul:", "(2, 3)", "(3, 2)"});
  check_error("div", [&] { vkt::div(a, b); }, {"div:", "(2, 3)", "(3, 2)"});
  check_error("binary_into(sub)", [&] { binary_into(BinaryOp::sub, a, a, b); },
              {"sub:", "(2, 3)", "(3, 2)"});
  check_error("unary_into(scale)", [&] { unary_into(UnaryOp::scale, a, 2.0f, b); },
              {"scale:", "(2, 3)", "(3, 2)"});
  check_error("unary_into(add_scalar)", [&] { unary_into(UnaryOp::add_scalar, a, 2.0f, b); },
              {"add_scalar:", "(2, 3)", "(3, 2)"});
  check_error("matmul inner", [&] { matmul(a, a); }, {"matmul", "(2, 3)"});
  check_error("matmul_into output",
              [&] {
                matmul_into(a, b, ones(device, {3, 3}));
              },
              {"matmul", "(3, 3)"});
  check_error("matmul bias", [&] { matmul(a, b, {}, ones(device, {5})); }, {"matmul", "(5,)"});
  Tensor x = ones(device, {1, 3, 5, 5});
  check_error("conv2d channels",
              [&] {
                conv2d(x, ones(device, {4, 2, 3, 3}));
              },
              {"conv2d", "(4, 2, 3, 3)"});
  check_error("conv2d kernel larger than the input",
              [&] {
                conv2d(x, ones(device, {4, 3, 7, 7}));
              },
              {"conv2d"});
  check_error("batch_norm gamma", [&] { batch_norm(x, ones(device, {4}), {}, {}, {}, {}); },
              {"batch_norm", "gamma"});
  check_error("layer_norm normalized_shape", [&] { layer_norm(x, {4}, {}, {}); },
              {"layer_norm", "(4,)"});
  check_error("cross_entropy labels",
              [&] {
                std::vector<int32_t> labels = {0, 1, 2};
                cross_entropy(ones(device, {2, 4}), Tensor::from_host(device, labels, {3}));
              },
              {"cross_entropy", "(3,)"});
  check_error("mse_loss", [&] { mse_loss(a, b); }, {"mse_loss", "(2, 3)", "(3, 2)"});
  check_error("max_pool2d rank", [&] { max_pool2d(a, pool2d_params(2)); },
              {"max_pool2d", "(2, 3)"});
  check_error("reshape", [&] { a.reshape({4, 2}); }, {"reshape", "(4, 2)"});
  check_error("copy", [&] { copy(a, c); }, {"copy", "(2, 3)", "(2, 2)"});
  check_error("upload",
              [&] {
                std::vector<float> five(5);
                a.upload(five);
              },
              {"upload", "(2, 3)"});
  check_error("nn::Linear input",
              [&] {
                nn::Linear linear(device, 4, 2);
                linear(nn::Variable(a));
              },
              {"linear", "(2, 3)"});
  check_device_usable(device);
}

TEST_CASE("bad input: wrong dtypes name the op and the dtypes", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Tensor f = ones(device, {4}), i = Tensor::zeros(device, {4}, DType::i32);
  Tensor u = Tensor::zeros(device, {1}, DType::u32);
  check_error("add i32", [&] { add(f, i); }, {"add:", "b is int32, expected float32"});
  check_error("matmul u32",
              [&] {
                matmul(Tensor::zeros(device, {2, 2}, DType::u32), ones(device, {2, 2}));
              },
              {"matmul", "uint32"});
  check_error("relu i32", [&] { relu(i); }, {"relu:", "x is int32"});
  check_error("scale i32", [&] { scale(i, 2.0f); }, {"scale:", "x is int32"});
  check_error("sum i32", [&] { sum(i); }, {"sum", "int32"});
  check_error("cross_entropy float labels",
              [&] {
                cross_entropy(ones(device, {4, 3}), f);
              },
              {"cross_entropy", "labels", "float32"});
  check_error("dropout float step", [&] { dropout(f, ones(device, {1}), {.p = 0.5f}); },
              {"dropout", "step", "float32"});
  check_error("batch_norm i32 num_batches_tracked",
              [&] {
                Tensor x = ones(device, {2, 3});
                batch_norm(x, {}, {}, Tensor::zeros(device, {3}), ones(device, {3}),
                           Tensor::zeros(device, {1}, DType::i32));
              },
              {"batch_norm", "num_batches_tracked", "int32"});
  check_error("to_host of an i32 tensor", [&] { i.to_host(); }, {"to_host", "int32"});
  check_error("optimizer with an i32 parameter",
              [&] {
                optim::SGD sgd(
                    {{"w", Tensor::zeros(device, {3}, DType::i32), Tensor::zeros(device, {3})}},
                    {.lr = 0.1});
              },
              {"SGD", "'w'", "float32"});
  check_error("increment of a float", [&] { increment(f.narrow(0, 1)); }, {"increment", "float32"});
  (void)u;
  check_device_usable(device);
}

TEST_CASE("bad input: undefined and empty tensors", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Tensor undefined, a = ones(device, {2, 2});
  Tensor empty = Tensor::empty(device, {0, 3});
  check_error("add undefined", [&] { add(a, undefined); }, {"add:", "b is an undefined tensor"});
  check_error("mul undefined first", [&] { mul(undefined, a); },
              {"mul:", "a is an undefined tensor"});
  check_error("matmul undefined", [&] { matmul(undefined, a); }, {"matmul", "undefined"});
  check_error("relu undefined", [&] { relu(undefined); }, {"relu:", "x is an undefined tensor"});
  check_error("add_scalar undefined", [&] { add_scalar(undefined, 1.0f); },
              {"add_scalar:", "undefined"});
  check_error("sum undefined", [&] { sum(undefined); }, {"sum", "undefined"});
  check_error("conv2d undefined weight",
              [&] {
                conv2d(ones(device, {1, 1, 3, 3}), undefined);
              },
              {"conv2d", "undefined"});
  check_error("cross_entropy with no rows",
              [&] { cross_entropy(empty, Tensor::empty(device, {0}, DType::i32)); },
              {"cross_entropy", "(0, 3)"});
  check_error(
      "cross_entropy with no classes",
      [&] {
        cross_entropy(Tensor::empty(device, {2, 0}), Tensor::zeros(device, {2}, DType::i32));
      },
      {"cross_entropy", "(2, 0)"});
  check_error("to_host of an undefined tensor", [&] { undefined.to_host(); }, {"undefined"});
  check_error("save_safetensors of an undefined tensor",
              [&] {
                save_safetensors("/nonexistent/never-written", {{"w", undefined}});
              },
              {"save_safetensors", "'w'", "undefined"});
  check_error("a raw dispatch binding an empty tensor",
              [&] {
                struct {
                  uint32_t n;
                } push{0};
                device.scheduler().dispatch(Kernel{"fill", {64}}, {out(empty)}, push, {1, 1, 1});
              },
              {"fill", "empty or undefined"});
  // What is defined for empty tensors works, as in PyTorch.
  CHECK(sum(empty).to_host()[0] == 0.0f);
  CHECK(add(empty, empty).numel() == 0);
  check_device_usable(device);
}

TEST_CASE("bad input: negative and zero sizes", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Tensor a = ones(device, {4, 3});
  check_error("negative dimension",
              [&] {
                Tensor::empty(device, {4, -2});
              },
              {"Tensor::empty", "negative dimension"});
  check_error("from_host with the wrong count",
              [&] {
                std::vector<float> values(5);
                Tensor::from_host(device, values, {2, 3});
              },
              {"from_host", "(2, 3)"});
  check_error("narrow past the end", [&] { a.narrow(3, 2); }, {"narrow"});
  check_error("narrow with a negative length", [&] { a.narrow(0, -1); }, {"narrow"});
  check_error("reshape with two -1", [&] { a.reshape({-1, -1}); }, {"reshape"});
  Tensor x = ones(device, {1, 2, 6, 6}), w = ones(device, {2, 2, 3, 3});
  check_error("conv2d stride 0", [&] { conv2d(x, w, {}, {.stride_h = 0}); }, {"conv2d", "stride"});
  check_error("conv2d negative padding", [&] { conv2d(x, w, {}, {.pad_h = -1}); },
              {"conv2d", "pad"});
  check_error("conv2d groups 0", [&] { conv2d(x, w, {}, {.groups = 0}); }, {"conv2d", "groups"});
  check_error("max_pool2d kernel 0", [&] { max_pool2d(x, pool2d_params(0)); }, {"max_pool2d"});
  check_error("avg_pool2d negative stride", [&] { avg_pool2d(x, pool2d_params(2, -1)); },
              {"avg_pool2d"});
  check_error("group_norm 0 groups", [&] { group_norm(x, 0, {}, {}); }, {"group_norm"});
  check_error("group_norm groups not dividing C",
              [&] {
                group_norm(ones(device, {1, 3, 2}), 2, {}, {});
              },
              {"group_norm", "3"});
  check_error("nn::Linear with 0 inputs", [&] { nn::Linear(device, 0, 3); }, {"Linear"});
  check_error("nn::BatchNorm1d with 0 features", [&] { nn::BatchNorm1d(device, 0); },
              {"BatchNorm1d", "num_features"});
  check_error("nn::GroupNorm 0 groups", [&] { nn::GroupNorm(device, 0, 4); }, {"GroupNorm"});
  check_error("nn::Conv2d groups not dividing channels",
              [&] { nn::Conv2d(device, 3, 4, 3, {.groups = 2}); }, {"Conv2d", "groups"});
  check_error("DataLoader batch size 0",
              [&] {
                data::Dataset dataset;
                dataset.count = 1;
                dataset.channels = dataset.height = dataset.width = 1;
                dataset.images = {0.5f};
                dataset.labels = {0};
                data::DataLoader loader(dataset, 0, false, 1);
              },
              {"DataLoader", "batch"});
  check_error("data::head with a negative count",
              [&] {
                data::Dataset dataset;
                dataset.count = 1;
                dataset.channels = dataset.height = dataset.width = 1;
                dataset.images = {0.5f};
                dataset.labels = {0};
                data::head(dataset, -1);
              },
              {"data::head", "count must be >= 0, got -1"});
  check_device_usable(device);
}

TEST_CASE("bad input: sizes that overflow int64", "[core][bad_input]") {
  // A shape whose element count (or size in bytes) does not fit in int64 used to wrap: (2^32,
  // 2^32) became 0 elements and a 4-byte tensor claiming that shape.
  const Device& device = testing::test_device();
  constexpr int64_t k32 = int64_t(1) << 32, k31 = int64_t(1) << 31;
  check_error("Tensor::empty (2^32, 2^32)",
              [&] {
                Tensor::empty(device, {k32, k32});
              },
              {"Tensor::empty", "(4294967296, 4294967296)", "more than 2^63 - 1 elements"});
  check_error("Tensor::zeros (2^31, 2^31) float32: 2^62 elements, 2^64 bytes",
              [&] {
                Tensor::zeros(device, {k31, k31});
              },
              {"Tensor::empty", "(2147483648, 2147483648)", "float32", "bytes"});
  check_error("from_host with an overflowing shape",
              [&] {
                std::vector<float> values(4);
                Tensor::from_host(device, values, {k32, k32, 4});
              },
              {"Tensor::from_host", "elements"});
  check_error("reshape with an overflowing shape",
              [&] {
                ones(device, {4}).reshape({int64_t(1) << 62, 4, -1});
              },
              {"reshape", "(4611686018427387904, 4, -1)", "elements"});
  check_error("narrow with start + length overflowing",
              [&] { ones(device, {4}).narrow(INT64_MAX, 1); },
              {"narrow", "9223372036854775807 + 1", "(4,)"});
  check_error("nn::Linear with 2^32 x 2^32 weights", [&] { nn::Linear(device, k32, k32); },
              {"Tensor::empty", "elements"});
  check_error("shape_numel", [&] { shape_numel({k32, k32}); }, {"shape_numel", "elements"});
  // A zero dimension makes an empty tensor whatever the other dimensions are.
  Tensor empty = Tensor::empty(device, {0, INT64_MAX, 4});
  CHECK(empty.numel() == 0);
  CHECK(empty.nbytes() == 0);
  CHECK(empty.reshape({INT64_MAX, 4, 0}).numel() == 0);
  CHECK(shape_numel({k32, 0, k32}) == 0);
  check_device_usable(device);
}

TEST_CASE("bad input: probabilities outside [0, 1]", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Tensor x = ones(device, {8}), step = Tensor::zeros(device, {1}, DType::u32);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float p : {-0.1f, 1.5f, nan}) {
    INFO("p = " << p);
    check_error("dropout", [&] { dropout(x, step, {.p = p}); }, {"dropout", "p"});
    check_error("drop_connect",
                [&] { drop_connect_forward(x, step, Tensor::empty(device, {8}), {.p = p}); },
                {"drop_connect"});
    check_error("nn::Dropout", [&] { nn::Dropout(device, p); }, {"Dropout", "p"});
    check_error("label_smoothing",
                [&] {
                  cross_entropy(ones(device, {2, 3}), Tensor::zeros(device, {2}, DType::i32),
                                {.label_smoothing = p});
                },
                {"cross_entropy", "label_smoothing"});
  }
  check_error("Linear::drop_connect p = 1", [&] { nn::Linear(device, 2, 2).drop_connect(1.0f); },
              {"Linear::drop_connect", "[0, 1)"});
  check_error(
      "Gaussian noise sigma < 0",
      [&] { gaussian_noise_forward(x, step, Tensor::empty(device, {8}), {.sigma = -1.0f}); },
      {"gaussian_noise", "sigma"});
  check_device_usable(device);
}

TEST_CASE("bad input: momentum, eps and rates out of range", "[core][bad_input]") {
  const Device& device = testing::test_device();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  check_error("SGD without lr", [&] { optim::SGD(one_param(device), {}); }, {"SGD", "lr"});
  check_error("SGD negative lr", [&] { optim::SGD(one_param(device), {.lr = -1}); },
              {"SGD", "invalid learning rate -1"});
  check_error("SGD NaN lr", [&] { optim::SGD(one_param(device), {.lr = nan}); },
              {"SGD", "invalid learning rate nan"});
  check_error("SGD negative momentum",
              [&] { optim::SGD(one_param(device), {.lr = 0.1, .momentum = -0.5}); },
              {"SGD", "momentum"});
  check_error("SGD NaN momentum",
              [&] { optim::SGD(one_param(device), {.lr = 0.1, .momentum = nan}); },
              {"SGD", "momentum"});
  check_error("SGD Nesterov without momentum",
              [&] { optim::SGD(one_param(device), {.lr = 0.1, .nesterov = true}); },
              {"SGD", "esterov"});
  check_error("SGD negative weight decay",
              [&] { optim::SGD(one_param(device), {.lr = 0.1, .weight_decay = -1}); },
              {"SGD", "weight_decay"});
  check_error("Adam negative eps", [&] { optim::Adam(one_param(device), {.eps = -1e-8}); },
              {"Adam", "epsilon"});
  check_error("Adam beta1 = 1",
              [&] {
                optim::Adam(one_param(device), {.betas = {1.0, 0.999}});
              },
              {"Adam", "beta"});
  check_error("AdamW beta2 < 0",
              [&] {
                optim::AdamW(one_param(device), {.betas = {0.9, -0.1}});
              },
              {"AdamW", "beta"});
  check_error("RMSprop negative alpha", [&] { optim::RMSprop(one_param(device), {.alpha = -1}); },
              {"RMSprop", "alpha"});
  check_error("RMSprop negative momentum",
              [&] { optim::RMSprop(one_param(device), {.momentum = -1}); },
              {"RMSprop", "momentum"});
  check_error("Adagrad negative eps", [&] { optim::Adagrad(one_param(device), {.eps = -1}); },
              {"Adagrad", "epsilon"});
  check_error("Adadelta rho > 1", [&] { optim::Adadelta(one_param(device), {.rho = 1.5}); },
              {"Adadelta", "rho"});
  check_error("set_lr NaN",
              [&] {
                optim::SGD sgd(one_param(device), {.lr = 0.1});
                sgd.set_lr(nan);
              },
              {"SGD", "lr"});
  check_error("nn::BatchNorm2d eps 0", [&] { nn::BatchNorm2d(device, 3, 0.0f); },
              {"BatchNorm2d", "eps"});
  check_error("nn::BatchNorm1d momentum 2", [&] { nn::BatchNorm1d(device, 3, 1e-5f, 2.0f); },
              {"BatchNorm1d", "momentum"});
  // The modules check eps at construction, where the mistake is made, not at the first forward.
  for (float eps : {-1.0f, std::numeric_limits<float>::quiet_NaN()}) {
    INFO("eps " << eps);
    const std::string expected = "eps must be >= 0, got " + std::to_string(eps);
    check_error("nn::BatchNorm1d eps", [&] { nn::BatchNorm1d(device, 3, eps); },
                {"BatchNorm1d", "eps must be positive"});
    check_error("nn::LayerNorm eps", [&] { nn::LayerNorm(device, {4}, eps); },
                {"LayerNorm", expected.c_str()});
    check_error("nn::GroupNorm eps", [&] { nn::GroupNorm(device, 1, 4, eps); },
                {"GroupNorm", expected.c_str()});
  }
  check_error("nn::BatchNorm2d momentum -0.1", [&] { nn::BatchNorm2d(device, 3, 1e-5f, -0.1f); },
              {"BatchNorm2d", "momentum"});
  check_error("nn::BatchNorm2d momentum NaN",
              [&] { nn::BatchNorm2d(device, 3, 1e-5f, std::numeric_limits<float>::quiet_NaN()); },
              {"BatchNorm2d", "momentum"});
  // The normalization ops check eps (>= 0, as the variance is added to it) and momentum.
  Tensor x = ones(device, {4, 3, 2});
  for (float eps : {-1.0f, std::numeric_limits<float>::quiet_NaN()}) {
    INFO("eps " << eps);
    check_error("batch_norm eps", [&] { batch_norm(x, {}, {}, {}, {}, {}, {.eps = eps}); },
                {"batch_norm", "eps must be >= 0"});
    check_error("layer_norm eps", [&] { layer_norm(x, {2}, {}, {}, eps); },
                {"layer_norm", "eps must be >= 0"});
    check_error("group_norm eps", [&] { group_norm(x, 3, {}, {}, eps); },
                {"group_norm", "eps must be >= 0"});
    check_error("instance_norm eps", [&] { instance_norm(x, {}, {}, eps); },
                {"instance_norm", "eps must be >= 0"});
  }
  for (float momentum : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    INFO("momentum " << momentum);
    check_error("batch_norm momentum",
                [&] {
                  batch_norm(x, {}, {}, Tensor::zeros(device, {3}), ones(device, {3}), {},
                             {.momentum = momentum});
                },
                {"batch_norm", "momentum in [0, 1] or None"});
  }
  check_error("clip_grad_norm negative max_norm",
              [&] { optim::clip_grad_norm(one_param(device), -1.0); }, {"clip_grad_norm"});
  check_error("normal_fill negative std", [&] { normal_fill(ones(device, {4}), 0, -1, 1); },
              {"normal_fill", "std"});
  check_device_usable(device);
}

TEST_CASE("bad input: tensors from another device", "[core][bad_input]") {
  const Device& device = testing::test_device();
  Device other = testing::open_test_device();
  Tensor a = ones(device, {2, 2}), b = ones(other, {2, 2});
  check_error("add", [&] { add(a, b); }, {"add:", "different devices"});
  check_error("matmul", [&] { matmul(a, b); }, {"matmul", "device"});
  check_error("matmul_into output", [&] { matmul_into(a, a, b); }, {"matmul", "device"});
  check_error("copy", [&] { copy(a, b); }, {"copy", "device"});
  check_error("conv2d",
              [&] {
                conv2d(ones(device, {1, 1, 3, 3}), ones(other, {1, 1, 2, 2}));
              },
              {"conv2d", "device"});
  check_error(
      "batch_norm running_mean",
      [&] {
        batch_norm(ones(device, {2, 2}), {}, {}, Tensor::zeros(other, {2}), ones(device, {2}), {});
      },
      {"batch_norm", "device"});
  check_error(
      "optimizer grad",
      [&] {
        optim::SGD({{"w", Tensor::zeros(device, {3}), Tensor::zeros(other, {3})}}, {.lr = 0.1});
      },
      {"SGD", "'w'", "device"});
  check_error("replay a sequence captured on the other device",
              [&] {
                Sequence sequence = other.scheduler().capture([&] { b.fill(2.0f); });
                device.scheduler().replay(sequence);
              },
              {"replay", "device"});
  check_device_usable(device);
  check_device_usable(other);
  CHECK(other.validation_messages() == 0);
}
