#include "conformance.hpp"

#include <cstring>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace vkt::conformance {

namespace {
std::vector<Case>& registry() {
  static std::vector<Case> all;
  return all;
}
}  // namespace

const std::vector<Case>& cases() { return registry(); }

Registrar::Registrar(const char* op, const char* name, CaseFn fn, const char* file, int line) {
  registry().push_back({op, name, fn, file, line});
}

uint64_t run_seed() {
  if (const char* env = std::getenv("VKTRAIN_TEST_SEED"); env && *env)
    return std::strtoull(env, nullptr, 0);
  std::random_device device;
  return (uint64_t(device()) << 32) ^ device();
}

std::vector<double> to_double(std::span<const float> values) {
  return std::vector<double>(values.begin(), values.end());
}

std::string shapes(std::initializer_list<Shape> list) {
  std::string text;
  for (const Shape& shape : list) text += (text.empty() ? "" : " ") + shape_str(shape);
  return text;
}

Context::Context(Device device_, uint64_t seed_, std::string op, std::string name)
    : device(std::move(device_)), seed(seed_), rng(seed_), op_(std::move(op)), name_(std::move(name)) {}

std::vector<float> Context::uniform(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> distribution(lo, hi);
  std::vector<float> values(n);
  for (float& v : values) v = distribution(rng);
  return values;
}

Tensor Context::upload(std::span<const float> values, Shape shape) {
  return Tensor::from_host(device, values, std::move(shape));
}

Tensor Context::poisoned(Shape shape) {
  return Tensor::full(device, std::move(shape), std::numeric_limits<float>::quiet_NaN());
}

Result& Context::add(const std::string& label, const std::string& shape) {
  Result result;
  result.op = op_;
  result.name = label.empty() ? name_ : name_ + "/" + label;
  result.shape = shape;
  results.push_back(result);
  return results.back();
}

void Context::check(const std::string& label, const std::string& shape, std::span<const float> gpu,
                    std::span<const double> ref, double tolerance) {
  Result& r = add(label, shape);
  r.tolerance = tolerance;
  if (gpu.size() != ref.size()) {
    r.error = std::numeric_limits<double>::infinity();
    r.note = "GPU gave " + std::to_string(gpu.size()) + " values, reference " +
             std::to_string(ref.size());
    return;
  }
  double diff2 = 0, ref2 = 0, max_abs = 0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    double g = gpu[i];
    if (!std::isfinite(g) && std::isfinite(ref[i])) {
      if (bad++ == 0) worst = i;
      continue;
    }
    if (!std::isfinite(ref[i])) {
      // Both non-finite: must agree exactly (NaN with NaN, +Inf with +Inf).
      bool same = std::isnan(ref[i]) ? std::isnan(g) : g == ref[i];
      if (!same && bad++ == 0) worst = i;
      continue;
    }
    double d = g - ref[i];
    diff2 += d * d;
    ref2 += ref[i] * ref[i];
    if (std::fabs(d) > max_abs) {
      max_abs = std::fabs(d);
      if (bad == 0) worst = i;
    }
  }
  if (bad > 0) {
    r.error = std::numeric_limits<double>::infinity();
    std::ostringstream note;
    note << bad << " non-finite or mismatched non-finite values, first at index " << worst
         << " (gpu " << gpu[worst] << ", ref " << ref[worst] << ")";
    r.note = note.str();
    return;
  }
  r.error = ref2 > 0 ? std::sqrt(diff2 / ref2) : max_abs;
  r.passed = r.error <= tolerance;
  if (!r.passed) {
    std::ostringstream note;
    note << "max abs diff " << max_abs << " at index " << worst << " (gpu " << gpu[worst]
         << ", ref " << ref[worst] << ")";
    r.note = note.str();
  }
}

bool kernel_runnable(const Device& device, const NamedKernel& kernel) {
  const DeviceInfo& info = device.info();
  if (kernel.choice.kind == KernelChoice::Kind::tiled && kernel.choice.rows == 8)
    return info.max_workgroup_invocations >= 256 && info.max_shared_memory >= 16 * 1024;
  return kernel.choice.kind != KernelChoice::Kind::packed || packed_matmul_available(device);
}

float round_to_half(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = u & 0x80000000u, magnitude = u & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return x;  // NaN, ±inf
  double value = 0.0;
  if (magnitude < 0x38800000u) {  // below 2^-14: float16's subnormals, steps of 2^-24
    float a = 0.0f;
    std::memcpy(&a, &magnitude, 4);
    value = std::ldexp(std::nearbyint(std::ldexp(double(a), 24)), -24);  // ties to even
  } else {
    // The float16 bits: biased exponent and the top 10 of the 23 fraction bits, then round on
    // the 13 dropped ones (a carry moves into the exponent; 0x7c00 is +inf).
    uint32_t h = ((((magnitude >> 23) - 127 + 15) << 10) | ((magnitude >> 13) & 0x3ffu));
    const uint32_t dropped = magnitude & 0x1fffu;
    if (dropped > 0x1000u || (dropped == 0x1000u && (h & 1u))) ++h;
    const uint32_t exponent = h >> 10, fraction = h & 0x3ffu;
    value = exponent >= 31 ? std::numeric_limits<double>::infinity()
                           : std::ldexp(1.0 + fraction / 1024.0, int(exponent) - 15);
  }
  float result = float(value);
  std::memcpy(&u, &result, 4);
  u |= sign;
  std::memcpy(&result, &u, 4);
  return result;
}

std::vector<uint32_t> bits(std::span<const float> values) {
  std::vector<uint32_t> result(values.size());
  if (!values.empty()) std::memcpy(result.data(), values.data(), values.size() * sizeof(float));
  return result;
}

void Context::check_equal(const std::string& label, const std::string& shape,
                          std::span<const uint32_t> gpu, std::span<const uint32_t> ref) {
  Result& r = add(label, shape);
  size_t mismatches = gpu.size() == ref.size() ? 0 : std::max(gpu.size(), ref.size());
  size_t first = 0;
  for (size_t i = 0; i < std::min(gpu.size(), ref.size()); ++i)
    if (gpu[i] != ref[i] && mismatches++ == 0) first = i;
  r.error = double(mismatches);
  r.passed = mismatches == 0;
  if (!r.passed)
    r.note = std::to_string(mismatches) + " mismatches, first at index " + std::to_string(first);
}

void Context::check_that(const std::string& label, bool condition, double value, double bound,
                         const std::string& note) {
  Result& r = add(label, "");
  r.error = value;
  r.tolerance = bound;
  r.passed = condition;
  r.note = note;
}

void Context::check_error(const std::string& label, const std::function<void()>& body,
                          std::vector<std::string> fragments) {
  Result& r = add(label, "");
  try {
    body();
    r.note = "no error was thrown";
    r.error = 1;
  } catch (const Error& error) {
    std::string message = error.what();
    r.passed = true;
    for (const std::string& fragment : fragments) {
      if (message.find(fragment) == std::string::npos) {
        r.passed = false;
        r.error = 1;
        r.note = "message '" + message + "' lacks '" + fragment + "'";
        break;
      }
    }
    if (r.passed) r.note = message;
  }
}

std::vector<Result> run_case(const Case& c, const Device& device, uint64_t seed) {
  Context context(device, seed, c.op, c.name);
  uint64_t messages_before = device.validation_messages();
  try {
    c.fn(context);
    device.synchronize();
  } catch (const std::exception& error) {
    Result failure{c.op, c.name + "/exception", "", 1, 0, false, error.what()};
    context.results.push_back(failure);
  }
  uint64_t messages = device.validation_messages() - messages_before;
  if (messages > 0) {
    Result failure{c.op, c.name + "/validation", "", double(messages), 0, false,
                   device.last_validation_message()};
    context.results.push_back(failure);
  }
  if (context.results.empty())
    context.results.push_back({c.op, c.name, "", 1, 0, false, "the case checked nothing"});
  return context.results;
}

}  // namespace vkt::conformance
