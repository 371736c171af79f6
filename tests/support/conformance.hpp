// The conformance harness: every op's cases, run against float64 CPU references.
//
// A case is a function registered with VKT_CASE(op, name); it builds fresh random inputs from the
// context's seeded generator, runs the GPU op into poisoned (NaN-filled) outputs, and records checks
// against a reference with a stated tolerance. The same cases run under ctest (through Catch2, with
// validation on) and in tools/vktrain-conformance on a user's own GPU.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "vktrain/vktrain.hpp"

namespace vkt::conformance {

struct Result {
  std::string op;
  std::string name;   // case name, or case/check when a case makes several checks
  std::string shape;  // the shapes involved, as text
  double error = 0;   // relative error (or the metric the check names)
  double tolerance = 0;
  bool passed = false;
  std::string note;  // why it failed, or what was measured
};

// The kernels the GEMM-shaped ops' cases (matmul, conv2d) run through (vktrain/ops/kernel.hpp):
// the tiled one; the subgroup one with its chosen tile and with its smallest (one subgroup of rows,
// one column per lane), which puts an edge in every direction of most shapes; the packed one
// (lavapipe's default) with its chosen tile (conv2d forward and backward-data: 16 columns a lane
// where the positions allow), with 8 columns a lane, and with its smallest (one subgroup of rows,
// four columns a lane), where kernel_runnable says the device can run it.
struct NamedKernel {
  const char* name;
  KernelChoice choice;
};
inline const NamedKernel kGemmKernels[] = {
    {"tiled", {KernelChoice::Kind::tiled}},
    {"subgroup", {KernelChoice::Kind::subgroup}},
    {"subgroup_small", {KernelChoice::Kind::subgroup, 1, 1}},
    {"packed", {KernelChoice::Kind::packed}},
    {"packed_8_columns", {KernelChoice::Kind::packed, 0, 8}},
    {"packed_small", {KernelChoice::Kind::packed, 1, 1}}};
// matmul's cases also run the tiled kernel's large tiling (128x128 tiles of 8x8 per invocation,
// which the tiled kernel takes on large GEMMs); "tiled" on the cases' small shapes is 64x64 of 4x4.
inline const NamedKernel kMatmulKernels[] = {
    {"tiled", {KernelChoice::Kind::tiled}},
    {"tiled_8x8", {KernelChoice::Kind::tiled, 8, 8}},
    {"subgroup", {KernelChoice::Kind::subgroup}},
    {"subgroup_small", {KernelChoice::Kind::subgroup, 1, 1}},
    {"packed", {KernelChoice::Kind::packed}},
    {"packed_8_columns", {KernelChoice::Kind::packed, 0, 8}},
    {"packed_small", {KernelChoice::Kind::packed, 1, 1}}};
// The packed kernel needs uniform-buffer limits some devices lack (vkt::packed_matmul_available),
// the tiled 8x8 one 256 invocations and 16 KiB of shared memory.
bool kernel_runnable(const Device& device, const NamedKernel& kernel);

// The float16 value nearest x (ties to even; ±inf from 65520 in magnitude) as a float, by
// integer arithmetic on the bits: the reference for round_to_float16 and float16_inputs matmuls.
float round_to_half(float x);

// The bit patterns of float results, for check_equal: kernels that promise identical results.
std::vector<uint32_t> bits(std::span<const float> values);

class Context {
 public:
  Context(Device device, uint64_t seed, std::string op, std::string name);

  Device device;
  uint64_t seed;
  std::mt19937_64 rng;
  std::vector<Result> results;

  // Fresh random values, uniform in [lo, hi).
  std::vector<float> uniform(size_t n, float lo = -1.0f, float hi = 1.0f);
  Tensor upload(std::span<const float> values, Shape shape);
  // An output tensor filled with NaN: an element the kernel fails to write fails the check.
  Tensor poisoned(Shape shape);

  // ‖gpu − ref‖₂ / ‖ref‖₂ ≤ tolerance (the max-abs difference when ‖ref‖ is 0). Any NaN or Inf in
  // the GPU output where the reference is finite fails.
  void check(const std::string& label, const std::string& shape, std::span<const float> gpu,
             std::span<const double> ref, double tolerance);
  // Bit-exact equality of integer results.
  void check_equal(const std::string& label, const std::string& shape,
                   std::span<const uint32_t> gpu, std::span<const uint32_t> ref);
  // A plain condition, with the measured value and bound for the report.
  void check_that(const std::string& label, bool condition, double value, double bound,
                  const std::string& note = "");
  // `body` must throw vkt::Error whose message contains every one of `fragments`.
  void check_error(const std::string& label, const std::function<void()>& body,
                   std::vector<std::string> fragments);

 private:
  Result& add(const std::string& label, const std::string& shape);
  std::string op_;
  std::string name_;
};

using CaseFn = void (*)(Context&);
struct Case {
  std::string op;
  std::string name;
  CaseFn fn;
  const char* file;
  int line;
};

const std::vector<Case>& cases();
struct Registrar {
  Registrar(const char* op, const char* name, CaseFn fn, const char* file, int line);
};

// The seed for this run: VKTRAIN_TEST_SEED if set, else fresh from std::random_device.
uint64_t run_seed();
// Runs one case on `device`; failures inside (exceptions, validation messages) become failed results.
std::vector<Result> run_case(const Case& c, const Device& device, uint64_t seed);

// Helpers for references.
std::vector<double> to_double(std::span<const float> values);
std::string shapes(std::initializer_list<Shape> list);

}  // namespace vkt::conformance

#define VKT_CASE_CONCAT2(a, b) a##b
#define VKT_CASE_CONCAT(a, b) VKT_CASE_CONCAT2(a, b)
#define VKT_CASE(op, name)                                                                    \
  static void VKT_CASE_CONCAT(vkt_case_, __LINE__)(::vkt::conformance::Context&);             \
  static const ::vkt::conformance::Registrar VKT_CASE_CONCAT(vkt_case_registrar_, __LINE__)(  \
      op, name, &VKT_CASE_CONCAT(vkt_case_, __LINE__), __FILE__, __LINE__);                   \
  static void VKT_CASE_CONCAT(vkt_case_, __LINE__)([[maybe_unused]] ::vkt::conformance::Context & ctx)
