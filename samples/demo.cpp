// vktrain-demo: a first look at the library on the best device — a matmul checked against the CPU,
// its speed, and what the scheduler recorded. (The sample trainers replace this as the main job.)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vktrain/vktrain.hpp>

int main() {
  try {
    vkt::Device device = vkt::Device::open();
    const int64_t m = 512, n = 512, k = 512;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> a(size_t(m * k)), b(size_t(k * n));
    for (float& v : a) v = uniform(rng);
    for (float& v : b) v = uniform(rng);
    vkt::Tensor ta = vkt::Tensor::from_host(device, a, {m, k});
    vkt::Tensor tb = vkt::Tensor::from_host(device, b, {k, n});
    vkt::Tensor tc = vkt::matmul(ta, tb);  // warm-up: pipeline creation
    device.synchronize();

    const int repeats = 10;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) vkt::matmul_into(ta, tb, tc);
    device.synchronize();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<float> c = tc.to_host();

    double max_error = 0;
    for (int64_t i = 0; i < m; i += 37)
      for (int64_t j = 0; j < n; j += 41) {
        double s = 0;
        for (int64_t q = 0; q < k; ++q) s += double(a[size_t(i * k + q)]) * b[size_t(q * n + j)];
        max_error = std::max(max_error, std::fabs(s - c[size_t(i * n + j)]));
      }
    vkt::SchedulerStats stats = device.scheduler().stats();
    std::printf("matmul %lldx%lldx%lld on %s: %.2f GFLOP/s, max |error| vs float64 %.2e\n",
                (long long)m, (long long)n, (long long)k, device.info().name.c_str(),
                2.0 * m * n * k * repeats / seconds * 1e-9, max_error);
    std::printf("scheduler: %llu dispatches, %llu barriers, %llu submissions\n",
                (unsigned long long)stats.dispatches, (unsigned long long)stats.barriers,
                (unsigned long long)stats.submissions);
    return max_error < 1e-3 ? 0 : 1;
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "vktrain-demo: %s\n", error.what());
    return 1;
  }
}
