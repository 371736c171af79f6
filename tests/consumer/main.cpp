// Uses the installed vktrain: y = relu(a·b) on the best device, checked on the host, under the
// profiler (whose table must name the kernel).
#include <vktrain/vktrain.hpp>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

int main() {
  vkt::Device device = vkt::Device::open();
  std::optional<vkt::Profiler> profiler;
  if (device.info().timestamp_queries) profiler.emplace(device);
  std::vector<float> a = {1, -2, 3, 4, 5, -6};  // (2, 3)
  std::vector<float> b = {1, 0, 0, 1, 1, 1};    // (3, 2)
  vkt::Tensor c = vkt::matmul(vkt::Tensor::from_host(device, a, {2, 3}),
                              vkt::Tensor::from_host(device, b, {3, 2}), {.activation = vkt::Activation::relu});
  std::vector<float> got = c.to_host();
  const float expected[] = {4, 1, 0, 0};  // relu([[4, 1], [-2, -1]])
  for (int i = 0; i < 4; ++i) {
    if (std::fabs(got[i] - expected[i]) > 1e-6f) {
      std::printf("consumer: element %d is %g, expected %g\n", i, got[i], expected[i]);
      return 1;
    }
  }
  if (profiler && profiler->table().find("matmul") == std::string::npos) {
    std::printf("consumer: the profiler's table names no matmul:\n%s", profiler->table().c_str());
    return 1;
  }
  if (device.validation_messages() != 0) return 1;
  std::printf("consumer: vktrain works on %s\n", device.info().name.c_str());
  return 0;
}
