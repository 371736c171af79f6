// matmul with MatmulPrecision::float16_inputs: op(A) and op(B) rounded to float16, products and
// sums in float32 — on cooperative matrices (shaders/matmul_coopmat.comp) where
// cooperative_matmul_available, else as round_to_float16 passes before the float32 kernels. Odd
// shapes (no multiple of 16 or of any tile), every layout, batching, the epilogues, accumulation,
// the device-wide setting, against a float64 reference on the rounded inputs. Every case also runs
// the cooperative kernel's emulation (shaders/matmul_coopmat_emulated.comp, the same tiling,
// staging and epilogue with the fragment operations done by ordinary code) where the device has
// float16 arithmetic, so the kernel's own code is checked on devices without the extension.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "conformance.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// ‖C − ref‖ / ‖ref‖ against the float64 product of the rounded inputs: float32 sums over K
// terms, as for float32 matmuls (tensor cores sum in their own order, still in float32).
constexpr double kTolerance = 1e-5;
// Against the unrounded inputs: each float16 input is off by up to 2^-11 relative, so a product
// by about 2^-10; over random signs the normwise error is a few 1e-4.
constexpr double kRoundingTolerance = 2e-3;

std::vector<float> rounded(std::vector<float> x) {
  for (float& v : x) v = round_to_half(v);
  return x;
}

// op(A)(m, k) for A stored (M, K), or (K, M) when transposed; likewise B; batch_b 0 broadcasts.
std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b,
                              int64_t batch, bool broadcast_b, int64_t m, int64_t n, int64_t k,
                              bool ta, bool tb) {
  std::vector<double> c(size_t(batch * m * n));
  for (int64_t p = 0; p < batch; ++p) {
    const float* pa = a.data() + p * m * k;
    const float* pb = b.data() + (broadcast_b ? 0 : p * k * n);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t q = 0; q < k; ++q)
          s += double(ta ? pa[q * m + i] : pa[i * k + q]) *
               double(tb ? pb[j * k + q] : pb[q * n + j]);
        c[size_t((p * m + i) * n + j)] = s;
      }
  }
  return c;
}

double relative_difference(const std::vector<double>& x, const std::vector<double>& y) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) diff += (x[i] - y[i]) * (x[i] - y[i]), norm += y[i] * y[i];
  return std::sqrt(diff / norm);
}

// Sets an environment variable for a scope (nullptr: unset), restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(had_ ? old_.c_str() : nullptr); }
  void set(const char* value) {
    if (value)
      setenv(name_, value, 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

// The paths a float16_inputs matmul takes here: the device's own, and the cooperative kernel's
// emulation where the device can run it.
struct Path {
  std::string name;
  const char* cooperative;  // VKTRAIN_COOPERATIVE_MATRIX, or nullptr: as the device decides
};
std::vector<Path> paths(const Device& device) {
  std::vector<Path> list{
      {cooperative_matmul_available(device) ? "cooperative" : "rounded+float32", nullptr}};
  if (device.info().fp16_arithmetic) list.push_back({"emulated_cooperative", "emulated"});
  return list;
}

void run(Context& ctx, const std::string& label, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
         int64_t batch = 0, bool broadcast_b = false) {
  const bool batched = batch > 0;
  const int64_t count = batched ? batch : 1;
  Shape sa = ta ? Shape{k, m} : Shape{m, k}, sb = tb ? Shape{n, k} : Shape{k, n};
  if (batched) sa.insert(sa.begin(), batch);
  if (batched && !broadcast_b) sb.insert(sb.begin(), batch);
  const Shape sc = batched ? Shape{batch, m, n} : Shape{m, n};
  std::vector<float> a = ctx.uniform(size_t(shape_numel(sa)));
  std::vector<float> b = ctx.uniform(size_t(shape_numel(sb)));
  const auto ref16 = reference(rounded(a), rounded(b), count, broadcast_b, m, n, k, ta, tb);
  const auto ref32 = reference(a, b, count, broadcast_b, m, n, k, ta, tb);
  // The test can fail: skipping the rounding misses the rounded reference by far more than the
  // tolerance.
  const double rounding = relative_difference(ref32, ref16);
  ctx.check_that(label + " rounding shows", rounding > 10 * kTolerance, rounding,
                 10 * kTolerance);
  Tensor ga = ctx.upload(a, sa), gb = ctx.upload(b, sb);
  const std::string shape = shapes({sa, sb});
  for (const Path& path : paths(ctx.device)) {
    ScopedEnv env("VKTRAIN_COOPERATIVE_MATRIX", path.cooperative);
    const bool cooperative = cooperative_matmul_available(ctx.device);
    std::vector<float> first;
    for (const NamedKernel& kernel : kMatmulKernels) {
      if (!kernel_runnable(ctx.device, kernel)) continue;
      Tensor c = ctx.poisoned(sc);
      matmul_into(ga, gb, c,
                  {.transpose_a = ta,
                   .transpose_b = tb,
                   .kernel = kernel.choice,
                   .precision = MatmulPrecision::float16_inputs});
      std::vector<float> result = c.to_host();
      const std::string name = label + "/" + path.name + (cooperative ? std::string() : "/" + std::string(kernel.name));
      ctx.check(name, shape, result, ref16, kTolerance);
      ctx.check(name + " vs unrounded", shape, result, ref32, kRoundingTolerance);
      if (cooperative) break;  // the cooperative kernel takes no KernelChoice
      // Which float32 kernel sums the rounded products does not change a bit.
      if (first.empty())
        first = result;
      else
        ctx.check_equal(name + " = first kernel, bitwise", shape, bits(result), bits(first));
    }
  }
}

}  // namespace

VKT_CASE("matmul_coopmat", "nn_odd") { run(ctx, "nn", 67, 45, 93, false, false); }
VKT_CASE("matmul_coopmat", "layouts") {
  run(ctx, "nt", 33, 129, 17, false, true);
  run(ctx, "tn", 130, 7, 61, true, false);
  run(ctx, "tt", 5, 71, 200, true, true);
}
// Every dimension a multiple of 4 but of no tile or fragment: the cooperative kernel stages both
// operands as vec4s (the odd cases stage fours of bounds-checked floats), in all four layouts,
// and batched.
VKT_CASE("matmul_coopmat", "vec4_staging") {
  run(ctx, "nn", 132, 68, 44, false, false);
  run(ctx, "nt", 132, 68, 44, false, true);
  run(ctx, "tn", 68, 132, 44, true, false);
  run(ctx, "tt", 36, 140, 20, true, true);
  run(ctx, "batched_tn", 20, 28, 36, true, false, 3);
}

// C with more 16x16 fragments than one workgroup's tile in both directions, and K past several
// 32-deep stages with a ragged last one.
VKT_CASE("matmul_coopmat", "many_tiles") { run(ctx, "nn", 150, 140, 101, false, false); }
VKT_CASE("matmul_coopmat", "batched") {
  run(ctx, "nn", 13, 29, 31, false, false, 3);
  run(ctx, "tn_broadcast_b", 21, 11, 40, true, false, 4, true);
}

// The Linear epilogue (bias, relu) and gradient accumulation, on float16 inputs.
VKT_CASE("matmul_coopmat", "epilogues") {
  const int64_t m = 37, n = 70, k = 29;
  std::vector<float> x = ctx.uniform(size_t(m * k)), w = ctx.uniform(size_t(n * k));
  std::vector<float> bias = ctx.uniform(size_t(n)), initial = ctx.uniform(size_t(m * n));
  auto ref = reference(rounded(x), rounded(w), 1, false, m, n, k, false, true);
  std::vector<double> relu(ref.size()), twice(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    relu[i] = std::max(0.0, ref[i] + bias[i % size_t(n)]);
    twice[i] = initial[i] + 2 * ref[i];
  }
  Tensor gx = ctx.upload(x, {m, k}), gw = ctx.upload(w, {n, k});
  const std::string shape = shapes({{m, k}, {n, k}});
  for (const Path& path : paths(ctx.device)) {
    ScopedEnv env("VKTRAIN_COOPERATIVE_MATRIX", path.cooperative);
    Tensor y = ctx.poisoned({m, n});
    matmul_into(gx, gw, y,
                {.transpose_b = true,
                 .activation = Activation::relu,
                 .precision = MatmulPrecision::float16_inputs},
                ctx.upload(bias, {n}));
    ctx.check("bias_relu/" + path.name, shape, y.to_host(), relu, kTolerance);
    // The dropout epilogue: the cooperative kernel runs it as a pass after, the float32 kernels
    // on rounded copies in their epilogue; either way dropout_forward's mask, bit for bit.
    const DropoutParams drop{.p = 0.3f, .seed = 99, .stream = 5};
    uint32_t words[] = {7};
    Tensor step = Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
    Tensor dropped = ctx.poisoned({m, n});
    matmul_into(gx, gw, dropped,
                {.transpose_b = true,
                 .activation = Activation::relu,
                 .dropout = drop,
                 .dropout_step = step,
                 .precision = MatmulPrecision::float16_inputs},
                ctx.upload(bias, {n}));
    std::vector<double> dropped_ref(relu.size());
    for (size_t i = 0; i < relu.size(); ++i)
      dropped_ref[i] =
          double(philox::dropout_bits(99, 5, 7, i)) / 65536.0 >= 0.3 ? relu[i] / 0.7 : 0.0;
    std::vector<float> fused = dropped.to_host();
    ctx.check("bias_relu_dropout/" + path.name, shape, fused, dropped_ref, kTolerance);
    ctx.check_equal("bias_relu_dropout/" + path.name + " = then dropout, bitwise", shape,
                    bits(fused), bits(dropout(y, step, drop).to_host()));
    Tensor acc = ctx.upload(initial, {m, n});
    MatmulOptions options{.transpose_b = true,
                          .accumulate = true,
                          .precision = MatmulPrecision::float16_inputs};
    matmul_into(gx, gw, acc, options);
    matmul_into(gx, gw, acc, options);
    ctx.check("accumulate/" + path.name, shape, acc.to_host(), twice, kTolerance);
  }
}

// set_matmul_precision: matmuls that leave the precision to the device follow it (the same
// bits as asking for it), an explicit float32 overrides it, and device_default restores float32.
VKT_CASE("matmul_coopmat", "device_setting") {
  const int64_t m = 19, n = 23, k = 45;
  Tensor a = ctx.upload(ctx.uniform(size_t(m * k)), {m, k});
  Tensor b = ctx.upload(ctx.uniform(size_t(k * n)), {k, n});
  auto run_with = [&](MatmulPrecision p) {
    return bits(matmul(a, b, {.precision = p}).to_host());
  };
  const auto f16 = run_with(MatmulPrecision::float16_inputs);
  const auto f32 = run_with(MatmulPrecision::float32);
  ctx.check_that("default is float32", matmul_precision(ctx.device) == MatmulPrecision::float32 &&
                                           run_with(MatmulPrecision::device_default) == f32,
                 0, 0);
  set_matmul_precision(ctx.device, MatmulPrecision::float16_inputs);
  const auto followed = run_with(MatmulPrecision::device_default);
  const auto overridden = run_with(MatmulPrecision::float32);
  set_matmul_precision(ctx.device, MatmulPrecision::device_default);
  ctx.check_equal("device float16 = explicit float16", shapes({{m, k}, {k, n}}), followed, f16);
  ctx.check_equal("explicit float32 overrides", shapes({{m, k}, {k, n}}), overridden, f32);
  ctx.check_that("float16 differs from float32", f16 != f32, 0, 0);
  ctx.check_that("device_default restores float32",
                 matmul_precision(ctx.device) == MatmulPrecision::float32, 0, 0);
  ctx.check_error("unknown precision",
                  [&] { (void)matmul(a, b, {.precision = MatmulPrecision(7)}); },
                  {"matmul", "unknown precision 7"});
  ctx.check_error("unknown device precision",
                  [&] { set_matmul_precision(ctx.device, MatmulPrecision(9)); },
                  {"set_matmul_precision", "unknown precision 9"});
}

// The allowlist: NVIDIA devices with the cooperative shape; VKTRAIN_COOPERATIVE_MATRIX=0 turns it
// off, =1 on for any device with the shape (never without it: lavapipe), =emulated on anywhere.
VKT_CASE("matmul_coopmat", "allowlist") {
  const DeviceInfo& info = ctx.device.info();
  ScopedEnv env("VKTRAIN_COOPERATIVE_MATRIX", nullptr);
  const bool listed = cooperative_matmul_available(ctx.device);
  env.set("0");
  const bool off = cooperative_matmul_available(ctx.device);
  env.set("1");
  const bool on = cooperative_matmul_available(ctx.device);
  env.set("emulated");
  const bool emulated = cooperative_matmul_available(ctx.device);
  const std::string note = info.vendor + (info.cooperative_matmul_f16 ? ", has" : ", lacks") +
                           " the 16x16x16 float16 shape";
  ctx.check_that("allowlisted: NVIDIA with the shape",
                 listed == (info.cooperative_matmul_f16 && info.vendor_id == 0x10DE), listed,
                 info.cooperative_matmul_f16, note);
  ctx.check_that("=0 turns it off", !off, off, 0, note);
  ctx.check_that("=1 needs the shape", on == info.cooperative_matmul_f16, on,
                 info.cooperative_matmul_f16, note);
  ctx.check_that("=emulated runs anywhere", emulated, emulated, 1, note);
  if (!info.fp16_arithmetic)
    ctx.check_error("emulation needs float16 arithmetic",
                    [&] {
                      Tensor x = ctx.upload(ctx.uniform(6), {2, 3});
                      (void)matmul(x, x, {.transpose_b = true,
                                          .precision = MatmulPrecision::float16_inputs});
                    },
                    {"matmul", "shaderFloat16"});
}
