// matmul: all transpose combinations, odd and degenerate shapes, batching, broadcasting, bias and
// activation epilogues, accumulation — against a float64 reference, through every kernel
// (shaders/matmul.comp "tiled" with its 64x64 and its 128x128 tiling, shaders/matmul_subgroup.comp
// "subgroup" with its chosen tile and with a one-subgroup, one-column tile, and the packed kernel
// of lib/ops/matmul_packed.cpp where the device allows it, with its chosen and its smallest tile),
// which must agree bit for bit.
#include <algorithm>

#include "conformance.hpp"
#include "vktrain/philox.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// Tolerance on ‖C − ref‖ / ‖ref‖: float32 accumulation over K terms (fma chains) stays well below
// 1e-5 for K up to a few thousand with inputs in [-1, 1).
constexpr double kTolerance = 1e-5;

// op(A)(m, k) for A stored (M, K), or (K, M) when transposed; likewise B.
std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b,
                              int64_t batch, bool batched_a, bool batched_b, int64_t m, int64_t n,
                              int64_t k, bool ta, bool tb) {
  std::vector<double> c(size_t(batch * m * n));
  for (int64_t p = 0; p < batch; ++p) {
    const float* pa = a.data() + (batched_a ? p * m * k : 0);
    const float* pb = b.data() + (batched_b ? p * k * n : 0);
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

std::string kernel_label(const std::string& label, const NamedKernel& k) {
  return label.empty() ? k.name : label + "/" + k.name;
}

void run(Context& ctx, const std::string& label, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
         int64_t batch = 0, bool broadcast_b = false) {
  bool batched = batch > 0;
  int64_t count = batched ? batch : 1;
  Shape sa = ta ? Shape{k, m} : Shape{m, k};
  Shape sb = tb ? Shape{n, k} : Shape{k, n};
  if (batched) sa.insert(sa.begin(), batch);
  if (batched && !broadcast_b) sb.insert(sb.begin(), batch);
  std::vector<float> a = ctx.uniform(size_t(shape_numel(sa)));
  std::vector<float> b = ctx.uniform(size_t(shape_numel(sb)));
  Shape sc = batched ? Shape{batch, m, n} : Shape{m, n};
  auto ref = reference(a, b, count, batched, batched && !broadcast_b, m, n, k, ta, tb);
  Tensor ta_tensor = ctx.upload(a, sa), tb_tensor = ctx.upload(b, sb);
  std::vector<float> tiled;
  for (const NamedKernel& kernel : kMatmulKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    Tensor c = ctx.poisoned(sc);
    matmul_into(ta_tensor, tb_tensor, c,
                {.transpose_a = ta, .transpose_b = tb, .kernel = kernel.choice});
    std::vector<float> result = c.to_host();
    ctx.check(kernel_label(label, kernel), shapes({sa, sb}), result, ref, kTolerance);
    if (tiled.empty())
      tiled = result;
    else
      ctx.check_equal(kernel_label(label, kernel) + " = tiled, bitwise", shapes({sa, sb}),
                      bits(result), bits(tiled));
  }
}

}  // namespace

VKT_CASE("matmul", "nn_odd") {
  run(ctx, "", 67, 45, 93, false, false);
}
VKT_CASE("matmul", "nt_odd") {
  run(ctx, "", 33, 129, 17, false, true);
}
VKT_CASE("matmul", "tn_odd") {
  run(ctx, "", 130, 7, 61, true, false);
}
VKT_CASE("matmul", "tt_odd") {
  run(ctx, "", 5, 71, 200, true, true);
}

// Every dimension a multiple of 4 but of no tile: the tiled kernel stages both operands as vec4s
// (the odd cases above stage fours of bounds-checked floats), in all four layouts.
VKT_CASE("matmul", "vec4_staging") {
  run(ctx, "nn", 132, 68, 44, false, false);
  run(ctx, "nt", 132, 68, 44, false, true);
  run(ctx, "tn", 68, 132, 44, true, false);
  run(ctx, "tt", 36, 140, 20, true, true);
}

VKT_CASE("matmul", "degenerate") {
  run(ctx, "m1", 1, 77, 35, false, false);
  run(ctx, "n1", 77, 1, 35, false, true);
  run(ctx, "k1", 19, 23, 1, true, false);
  run(ctx, "all1", 1, 1, 1, false, false);
}

// The packed kernel's paths (lib/ops/matmul_packed.cpp), each bit-identical to the tiled kernel:
// k longer than one chunk (the fma chains continue from stored partial sums), with U packed
// (2 chunks for both packed tiles) and read in place (2 chunks of 1536 for the default 8 x 8
// tile); more tiles and panels than one dispatch's 14 windows hold; U read in place, and the
// swapped orientation (U = op(B)ᵀ read in place, D = op(A)ᵀ).
VKT_CASE("matmul", "long_k_chunks") {
  run(ctx, "packed_u", 9, 13, 5000, false, true);
  run(ctx, "in_place_u", 5, 70, 2000, false, false);
}
VKT_CASE("matmul", "many_blocks") {
  run(ctx, "", 300, 200, 700, true, false);
}
VKT_CASE("matmul", "in_place_u") {
  run(ctx, "nn", 37, 75, 96, false, false);
  run(ctx, "nt_swapped", 40, 300, 64, false, true);
}

VKT_CASE("matmul", "batched") {
  run(ctx, "nn", 13, 29, 31, false, false, 3);
  run(ctx, "tn_broadcast_b", 21, 11, 40, true, false, 4, true);
}

// The Linear layer's forward: y = relu(x · Wᵀ + b), W stored (out, in); the second shape runs
// the packed kernel swapped (the bias then follows U's rows).
static void bias_relu(Context& ctx, const std::string& label, int64_t m, int64_t n, int64_t k) {
  std::vector<float> a = ctx.uniform(size_t(m * k)), w = ctx.uniform(size_t(n * k));
  std::vector<float> bias = ctx.uniform(size_t(n));
  auto ref = reference(a, w, 1, false, false, m, n, k, false, true);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double& v = ref[size_t(i * n + j)];
      v = std::max(0.0, v + bias[size_t(j)]);
    }
  for (const NamedKernel& kernel : kMatmulKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    Tensor y = ctx.poisoned({m, n});
    matmul_into(ctx.upload(a, {m, k}), ctx.upload(w, {n, k}), y,
                {.transpose_b = true, .activation = Activation::relu, .kernel = kernel.choice},
                ctx.upload(bias, {n}));
    ctx.check(kernel_label(label, kernel), shapes({{m, k}, {n, k}, {n}}), y.to_host(), ref,
              kTolerance);
  }
}

VKT_CASE("matmul", "bias_relu_epilogue") {
  bias_relu(ctx, "", 37, 70, 29);
  bias_relu(ctx, "swapped", 40, 300, 64);
}

// The dropout epilogue: C = dropout(relu(x · Wᵀ + b)) in one pass, against the float64 reference
// times the CPU's Philox mask of C's flat index (philox.hpp), and bit for bit against the matmul
// followed by dropout_forward, through every kernel: the packed kernel plain and swapped (its
// outputs then run down C's columns, each in another Philox block), batched (the flat index
// crosses matrices), odd sizes (blocks of eight straddle rows).
static void bias_relu_dropout(Context& ctx, const std::string& label, int64_t batch, int64_t m,
                              int64_t n, int64_t k, float p) {
  const int64_t count = std::max<int64_t>(batch, 1);
  Shape sa = batch > 0 ? Shape{batch, m, k} : Shape{m, k},
        sc = batch > 0 ? Shape{batch, m, n} : Shape{m, n};
  std::vector<float> a = ctx.uniform(size_t(count * m * k)), w = ctx.uniform(size_t(n * k));
  std::vector<float> bias = ctx.uniform(size_t(n));
  const DropoutParams params{.p = p, .seed = ctx.rng(), .stream = uint32_t(ctx.rng() % 64)};
  const uint32_t step_value = uint32_t(ctx.rng() % 1000);
  uint32_t words[] = {step_value};
  Tensor step = Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
  auto ref = reference(a, w, count, batch > 0, false, m, n, k, false, true);
  for (size_t i = 0; i < ref.size(); ++i) {
    bool keep = double(philox::dropout_bits(params.seed, params.stream, step_value, i)) / 65536.0 >=
                double(p);
    ref[i] = keep ? std::max(0.0, ref[i] + bias[i % size_t(n)]) / (1.0 - p) : 0.0;
  }
  Tensor ta = ctx.upload(a, sa), tw = ctx.upload(w, {n, k}), tb = ctx.upload(bias, {n});
  for (const NamedKernel& kernel : kMatmulKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    MatmulOptions options{.transpose_b = true,
                          .activation = Activation::relu,
                          .dropout = params,
                          .dropout_step = step,
                          .kernel = kernel.choice};
    Tensor y = ctx.poisoned(sc);
    matmul_into(ta, tw, y, options, tb);
    std::vector<float> fused = y.to_host();
    std::string name = kernel_label(label, kernel);
    ctx.check(name, shapes({sa, {n, k}, {n}}), fused, ref, kTolerance);
    options.dropout.p = 0.0f;
    Tensor z = ctx.poisoned(sc), separate = ctx.poisoned(sc);
    matmul_into(ta, tw, z, options, tb);
    dropout_forward(z, step, separate, params);
    ctx.check_equal(name + " = matmul, then dropout, bitwise", shapes({sa, {n, k}}), bits(fused),
                    bits(separate.to_host()));
  }
}

VKT_CASE("matmul", "bias_relu_dropout_epilogue") {
  bias_relu_dropout(ctx, "", 0, 37, 70, 29, 0.5f);
  bias_relu_dropout(ctx, "swapped", 0, 40, 300, 64, 0.25f);
  bias_relu_dropout(ctx, "batched", 3, 13, 29, 31, 0.7f);
}

VKT_CASE("matmul", "dropout_epilogue_bad_arguments") {
  Tensor a = ctx.poisoned({4, 5}), b = ctx.poisoned({5, 6});
  uint32_t words[] = {0};
  Tensor step = Tensor::from_host(ctx.device, std::span<const uint32_t>(words), {1});
  ctx.check_error("accumulate",
                  [&] {
                    matmul_into(a, b, ctx.poisoned({4, 6}),
                                {.accumulate = true, .dropout = {.p = 0.5f}, .dropout_step = step});
                  },
                  {"matmul", "dropout", "accumulate"});
  ctx.check_error("no step", [&] { (void)matmul(a, b, {.dropout = {.p = 0.5f}}); },
                  {"matmul", "dropout_step", "uint32"});
  ctx.check_error(
      "float step",
      [&] { (void)matmul(a, b, {.dropout = {.p = 0.5f}, .dropout_step = ctx.poisoned({1})}); },
      {"matmul", "dropout_step", "uint32"});
  ctx.check_error("p", [&] { (void)matmul(a, b, {.dropout = {.p = 1.5f}, .dropout_step = step}); },
                  {"matmul", "[0, 1]", "1.5"});
}

VKT_CASE("matmul", "accumulate") {
  // Gradient accumulation: dW += dYᵀ · X, twice.
  const int64_t m = 24, n = 9, k = 50;
  std::vector<float> dy = ctx.uniform(size_t(k * m)), x = ctx.uniform(size_t(k * n));
  std::vector<float> initial = ctx.uniform(size_t(m * n));
  Tensor tdy = ctx.upload(dy, {k, m}), tx = ctx.upload(x, {k, n});
  auto ref = reference(dy, x, 1, false, false, m, n, k, true, false);
  for (size_t i = 0; i < ref.size(); ++i) ref[i] = initial[i] + 2 * ref[i];
  for (const NamedKernel& kernel : kMatmulKernels) {
    if (!kernel_runnable(ctx.device, kernel)) continue;
    Tensor grad = ctx.upload(initial, {m, n});
    MatmulOptions options{.transpose_a = true, .accumulate = true, .kernel = kernel.choice};
    matmul_into(tdy, tx, grad, options);
    matmul_into(tdy, tx, grad, options);
    ctx.check(kernel.name, shapes({{k, m}, {k, n}}), grad.to_host(), ref, kTolerance);
  }
}

VKT_CASE("matmul", "bad_shapes") {
  Tensor a = ctx.poisoned({4, 5}), b = ctx.poisoned({6, 7});
  ctx.check_error("inner", [&] { (void)matmul(a, b); }, {"matmul", "(4, 5)", "(6, 7)"});
  ctx.check_error("output",
                  [&] {
                    matmul_into(a, ctx.poisoned({5, 6}), ctx.poisoned({4, 7}));
                  },
                  {"matmul", "(4, 7)", "expected (4, 6)"});
  ctx.check_error("rank", [&] { (void)matmul(ctx.poisoned({4}), b); }, {"matmul", "2-D or 3-D"});
  ctx.check_error("bias",
                  [&] {
                    (void)matmul(a, ctx.poisoned({5, 6}), {}, ctx.poisoned({5}));
                  },
                  {"matmul", "bias", "(6,)"});
}
