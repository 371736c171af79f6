// Autograd: gradients of a small network against float64 finite differences on the CPU,
// accumulation across backward calls, zero_grad, and misuse errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vktrain/nn.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {

// The CPU float64 twin of Linear(in, hidden) -> tanh -> Linear(hidden, classes) -> cross-entropy.
struct CpuMlp {
  int64_t in, hidden, classes;
  std::vector<double> w1, b1, w2, b2;
  double loss(const std::vector<double>& x, const std::vector<int32_t>& labels) const {
    int64_t n = int64_t(labels.size());
    double total = 0;
    for (int64_t s = 0; s < n; ++s) {
      std::vector<double> h(static_cast<size_t>(hidden)), z(static_cast<size_t>(classes));
      for (int64_t j = 0; j < hidden; ++j) {
        double v = b1[size_t(j)];
        for (int64_t i = 0; i < in; ++i) v += w1[size_t(j * in + i)] * x[size_t(s * in + i)];
        h[size_t(j)] = std::tanh(v);
      }
      double max_z = -1e300;
      for (int64_t k = 0; k < classes; ++k) {
        double v = b2[size_t(k)];
        for (int64_t j = 0; j < hidden; ++j) v += w2[size_t(k * hidden + j)] * h[size_t(j)];
        z[size_t(k)] = v;
        max_z = std::max(max_z, v);
      }
      double sum = 0;
      for (double v : z) sum += std::exp(v - max_z);
      total += -(z[size_t(labels[size_t(s)])] - max_z - std::log(sum));
    }
    return total / double(n);
  }
};

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace

TEST_CASE("autograd: MLP gradients match float64 finite differences", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(1234);
  const int64_t n = 5, in = 6, hidden = 9, classes = 4;
  auto first = std::make_shared<nn::Linear>(device, in, hidden);
  auto second = std::make_shared<nn::Linear>(device, hidden, classes);
  nn::Sequential model({first, std::make_shared<nn::Activation>(ActivationKind::tanh), second});

  std::mt19937 rng(99);
  std::uniform_real_distribution<float> uniform(-1.5f, 1.5f);
  std::vector<float> x(size_t(n * in));
  for (float& v : x) v = uniform(rng);
  std::vector<int32_t> labels = {0, 3, 1, 3, 2};
  Tensor labels_gpu = Tensor::from_host(device, labels, {n});

  nn::Variable loss =
      nn::F::cross_entropy(model(nn::Variable(Tensor::from_host(device, x, {n, in}))), labels_gpu);
  nn::backward(loss);

  CpuMlp cpu{in, hidden, classes, to_double(first->weight().value().to_host()),
             to_double(first->bias().value().to_host()), to_double(second->weight().value().to_host()),
             to_double(second->bias().value().to_host())};
  std::vector<double> xd = to_double(x);
  CHECK(std::abs(loss.value().to_host()[0] - cpu.loss(xd, labels)) < 1e-5);

  // Central differences of the float64 model, per parameter.
  std::vector<double>* parameters[] = {&cpu.w1, &cpu.b1, &cpu.w2, &cpu.b2};
  const nn::Variable* gpu[] = {&first->weight(), &first->bias(), &second->weight(), &second->bias()};
  for (int p = 0; p < 4; ++p) {
    std::vector<double> numeric(parameters[p]->size());
    for (size_t i = 0; i < numeric.size(); ++i) {
      double saved = (*parameters[p])[i];
      (*parameters[p])[i] = saved + 1e-6;
      double up = cpu.loss(xd, labels);
      (*parameters[p])[i] = saved - 1e-6;
      double down = cpu.loss(xd, labels);
      (*parameters[p])[i] = saved;
      numeric[i] = (up - down) / 2e-6;
    }
    INFO("parameter " << p);
    CHECK(relative_error(gpu[p]->grad().to_host(), numeric) < 1e-4);  // float32 GPU arithmetic
  }
}

TEST_CASE("autograd: gradients accumulate until zero_grad", "[nn]") {
  const Device& device = testing::test_device();
  nn::manual_seed(5);
  nn::Linear layer(device, 3, 2);
  std::vector<float> x = {1, 2, 3, -1, 0.5f, 0.25f};
  Tensor input = Tensor::from_host(device, x, {2, 3});
  auto run = [&] { nn::backward(nn::F::sum(layer(nn::Variable(input)))); };
  run();
  std::vector<float> once = layer.weight().grad().to_host();
  // d Σ(xWᵀ + b) / dW[o][i] = Σ_n x[n][i]
  CHECK(once == std::vector<float>{0, 2.5f, 3.25f, 0, 2.5f, 3.25f});
  CHECK(layer.bias().grad().to_host() == std::vector<float>{2, 2});
  run();
  CHECK(layer.weight().grad().to_host()[1] == 5.0f);
  layer.zero_grad();
  CHECK(layer.weight().grad().to_host() == std::vector<float>(6, 0.0f));
}

TEST_CASE("autograd: misuse gives clear errors", "[nn]") {
  const Device& device = testing::test_device();
  nn::Linear layer(device, 3, 2);
  nn::Variable input(Tensor::zeros(device, {4, 3}));
  nn::Variable out = nn::F::sum(layer(input));
  nn::backward(out);
  CHECK_THROWS_WITH(nn::backward(out), Catch::Contains("already used"));
  CHECK_THROWS_WITH(nn::backward(nn::F::sum(input)), Catch::Contains("does not require a gradient"));
  CHECK_THROWS_WITH(layer(nn::Variable(Tensor::zeros(device, {4, 5}))),
                    Catch::Contains("linear") && Catch::Contains("(4, 5)"));
  {
    nn::NoGrad no_grad;
    CHECK_FALSE(nn::F::sum(layer(input)).requires_grad());
  }
  CHECK(nn::F::sum(layer(input)).requires_grad());
}
