// matmul: C = op(A) · op(B) [+ bias] [activation] [dropout], batched: shaders/matmul.comp
// (shared-memory tiles, GPUs), shaders/matmul_subgroup.comp (register tiles and subgroup
// broadcasts) or the packed kernel of lib/ops/matmul_packed.cpp (CPU devices); float16 inputs on
// cooperative matrices in lib/ops/matmul_coopmat.cpp, elsewhere as rounding passes before the
// float32 kernels.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "ops/kernel_choice.hpp"
#include "ops/launch.hpp"
#include "ops/matmul_coopmat.hpp"
#include "ops/matmul_packed.hpp"
#include "vktrain/philox.hpp"

namespace vkt {

using namespace detail;

namespace {

struct Tiling {
  uint32_t bm, bn, bk, tm, tn;
};

// The shader's constraints on a tiling (shaders/matmul.comp): TM, TN and BK multiples of 4, whole
// thread tiles, and two stages of BK·(BM + BN) floats in shared memory.
bool tiling_fits(const Tiling& t, const DeviceInfo& info) {
  bool valid = t.tm > 0 && t.tn > 0 && t.bk > 0 && t.tm % 4 == 0 && t.tn % 4 == 0 &&
               t.bk % 4 == 0 && t.bm % t.tm == 0 && t.bn % t.tn == 0;
  uint64_t threads = valid ? uint64_t(t.bm / t.tm) * (t.bn / t.tn) : 0;
  uint64_t shared = 2 * uint64_t(t.bk) * (t.bm + t.bn) * 4;
  return valid && threads >= 1 && threads <= info.max_workgroup_invocations &&
         shared <= info.max_shared_memory;
}

// VKTRAIN_MATMUL_TILING=BM,BN,BK,TM,TN forces a tiling (for tuning: bench/tune_matmul.sh).
std::optional<Tiling> forced_tiling(const DeviceInfo& info) {
  const char* text = std::getenv("VKTRAIN_MATMUL_TILING");
  if (!text || !*text) return std::nullopt;
  Tiling t{};
  char end = 0;
  int fields = std::sscanf(text, "%u,%u,%u,%u,%u%c", &t.bm, &t.bn, &t.bk, &t.tm, &t.tn, &end);
  VKT_REQUIRE(fields == 5 && tiling_fits(t, info), "matmul",
              std::string("VKTRAIN_MATMUL_TILING='") + text +
                  "': expected BM,BN,BK,TM,TN with TM, TN and BK multiples of 4, TM | BM, TN | BN, "
                  "(BM/TM)(BN/TN) <= " +
                  std::to_string(info.max_workgroup_invocations) +
                  " invocations and 2·BK(BM+BN)·4 <= " + std::to_string(info.max_shared_memory) +
                  " bytes of shared memory");
  return t;
}

// The tiled kernel's tiling: 128x128 tiles of 8x8 per invocation (256 invocations) where C has
// enough of them to fill a large GPU, else 64x64 of 4x4; 32x32 where a device has fewer than 256
// invocations or 16 KiB of shared memory. `per_thread` (KernelChoice::rows of a tiled choice) 8 or
// 4 forces the first two.
Tiling choose_tiling(const DeviceInfo& info, uint32_t per_thread, int64_t m, int64_t n) {
  if (std::optional<Tiling> forced = forced_tiling(info)) return *forced;
  const Tiling large{128, 128, 8, 8, 8}, medium{64, 64, 16, 4, 4}, small{32, 32, 16, 4, 4};
  // 256 large tiles: two for each multiprocessor of a GPU with ~128 (H100: 132).
  bool many = ((m + 127) / 128) * ((n + 127) / 128) >= 256;
  Tiling t = per_thread == 8 ? large : per_thread == 4 ? medium : many ? large : medium;
  if (tiling_fits(t, info)) return t;
  VKT_REQUIRE(per_thread == 0, "matmul",
              "the tiled kernel's " + std::to_string(per_thread) + "x" +
                  std::to_string(per_thread) + " tiling needs " +
                  std::to_string((t.bm / t.tm) * (t.bn / t.tn)) + " invocations and " +
                  std::to_string(2 * t.bk * (t.bm + t.bn) * 4) +
                  " bytes of shared memory; the device allows " +
                  std::to_string(info.max_workgroup_invocations) + " and " +
                  std::to_string(info.max_shared_memory));
  return tiling_fits(medium, info) ? medium : small;
}

// (rows, cols) of a 2-D operand or of each matrix of a 3-D one, and its batch count.
struct Operand {
  int64_t batch, rows, cols;
};

Operand operand(const Tensor& t, const char* name) {
  VKT_REQUIRE(t.dim() == 2 || t.dim() == 3, "matmul",
              std::string(name) + " must be 2-D or 3-D, got shape " + shape_str(t.shape()));
  if (t.dim() == 2) return {1, t.size(0), t.size(1)};
  return {t.size(0), t.size(1), t.size(2)};
}

// The tiled and subgroup kernels' push constants.
struct GemmPush {
  GemmSizes sizes;
  DropoutPush dropout;
};

// The dropout epilogue's arguments.
void check_dropout(const MatmulOptions& options, const Tensor& c) {
  const DropoutParams& d = options.dropout;
  if (!d.training) return;
  VKT_REQUIRE(d.p >= 0.0f && d.p <= 1.0f, "matmul",
              "dropout p must be in [0, 1], got " + std::to_string(d.p));
  if (!dropout_epilogue(options)) return;
  VKT_REQUIRE(!options.accumulate, "matmul",
              "the dropout epilogue masks C itself: it does not combine with accumulate");
  const Tensor& step = options.dropout_step;
  VKT_REQUIRE(step.defined() && step.dtype() == DType::u32 && step.numel() == 1, "matmul",
              "the dropout epilogue needs dropout_step, a uint32 tensor of one element, got " +
                  (step.defined() ? shape_str(step.shape()) : std::string("an undefined tensor")));
  require_same_device(c, step, "matmul");
  VKT_REQUIRE(c.numel() <= 0xFFFFFFFCLL, "matmul",
              "the dropout epilogue indexes C with 32 bits: at most 2^32 - 4 elements, C is " +
                  shape_str(c.shape()));
}

}  // namespace

bool detail::dropout_epilogue(const MatmulOptions& options) {
  return options.dropout.training && options.dropout.p > 0.0f;
}

detail::DropoutPush detail::dropout_push(const MatmulOptions& options) {
  if (!dropout_epilogue(options)) return {};
  const DropoutParams& d = options.dropout;
  return {uint32_t(d.seed), uint32_t(d.seed >> 32), d.stream, philox::dropout_threshold(d.p),
          philox::dropout_scale(d.p)};
}

void matmul_into(const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& options,
                 const Tensor& bias) {
  require_dtype(a, DType::f32, "matmul", "A");
  require_dtype(b, DType::f32, "matmul", "B");
  require_dtype(c, DType::f32, "matmul", "C");
  require_same_device(a, b, "matmul");
  require_same_device(a, c, "matmul");
  Operand oa = operand(a, "A"), ob = operand(b, "B");
  int64_t m = options.transpose_a ? oa.cols : oa.rows;
  int64_t k = options.transpose_a ? oa.rows : oa.cols;
  int64_t kb = options.transpose_b ? ob.cols : ob.rows;
  int64_t n = options.transpose_b ? ob.rows : ob.cols;
  VKT_REQUIRE(k == kb, "matmul",
              "inner dimensions differ: op(A) is (" + std::to_string(m) + ", " + std::to_string(k) +
                  ") from A " + shape_str(a.shape()) + ", op(B) is (" + std::to_string(kb) + ", " +
                  std::to_string(n) + ") from B " + shape_str(b.shape()));
  VKT_REQUIRE(oa.batch == ob.batch || a.dim() == 2 || b.dim() == 2, "matmul",
              "batch sizes differ: A " + shape_str(a.shape()) + ", B " + shape_str(b.shape()));
  int64_t batch = std::max(oa.batch, ob.batch);
  bool batched = a.dim() == 3 || b.dim() == 3;
  Shape expected = batched ? Shape{batch, m, n} : Shape{m, n};
  VKT_REQUIRE(c.shape() == expected, "matmul",
              "C has shape " + shape_str(c.shape()) + ", expected " + shape_str(expected));
  if (bias.defined()) {
    require_dtype(bias, DType::f32, "matmul", "bias");
    VKT_REQUIRE(
        bias.numel() == n && bias.dim() == 1, "matmul",
        "bias has shape " + shape_str(bias.shape()) + ", expected (" + std::to_string(n) + ",)");
  }
  check_dropout(options, c);
  MatmulPrecision precision = options.precision == MatmulPrecision::device_default
                                  ? matmul_precision(a.device())
                                  : options.precision;
  VKT_REQUIRE(precision == MatmulPrecision::float32 || precision == MatmulPrecision::float16_inputs,
              "matmul", "unknown precision " + std::to_string(uint32_t(options.precision)));
  if (c.numel() == 0) return;
  if (k == 0) {
    if (!options.accumulate) c.fill(0.0f);
    return;
  }
  const MatmulShape shape{m, n, k, batch, a.dim() == 3, b.dim() == 3};
  if (precision == MatmulPrecision::float16_inputs) {
    if (cooperative_matmul_available(a.device()) && !dropout_epilogue(options)) {
      cooperative_matmul(a, b, c, options, bias, shape);
      return;
    }
    if (cooperative_matmul_available(a.device())) {  // its epilogue has no dropout: a pass after
      MatmulOptions plain = options;
      plain.dropout.p = 0.0f;
      Tensor product = Tensor::empty(c.device(), c.shape());
      cooperative_matmul(a, b, product, plain, bias, shape);
      dropout_forward(product, options.dropout_step, c, options.dropout);
      return;
    }
    // The float32 kernels on rounded copies: the same exact products, summed in float32.
    MatmulOptions rounded = options;
    rounded.precision = MatmulPrecision::float32;
    matmul_into(round_to_float16(a), round_to_float16(b), c, rounded, bias);
    return;
  }
  const DeviceInfo& info = a.device().info();
  TuningScratch scratch({a, b, c});
  auto record = [&](const KernelChoice& candidate) {
    const std::vector<Tensor>& s = scratch.tensors();
    MatmulOptions timed = options;
    timed.kernel = candidate;
    timed.precision = MatmulPrecision::float32;
    matmul_into(s[0], s[1], s[2], timed, bias);
  };
  auto key = [&] {
    return std::string(options.transpose_a ? "t" : "n") + (options.transpose_b ? "t" : "n") + " m" +
           std::to_string(size_bucket(m)) + " n" + std::to_string(size_bucket(n)) + " k" +
           std::to_string(size_bucket(k)) + " b" + std::to_string(size_bucket(batch));
  };
  // The packed kernel's packing and per-dispatch set-up pay off from a few tiles on: on lavapipe it
  // lost to the subgroup kernel where k or a side of C was about 10 (docs/performance-notes.md).
  PackedKernel packed = !packed_matmul_available(a.device()) ? PackedKernel::none
                        : std::min({m, n}) >= 16 && k >= 32  ? PackedKernel::preferred
                                                             : PackedKernel::available;
  KernelChoice choice = tuned_kernel(a.device(), "matmul", "VKTRAIN_MATMUL_KERNEL", options.kernel,
                                     m, n, key, record, packed);
  if (choice.kind == KernelChoice::Kind::packed) {
    packed_matmul(a, b, c, options, bias, shape, choice);
    return;
  }
  const GemmPush push{gemm_sizes(shape), dropout_push(options)};
  const bool dropout = dropout_epilogue(options);
  Kernel kernel;
  std::array<uint32_t, 3> groups{};
  if (choice.kind == KernelChoice::Kind::subgroup) {
    uint32_t lanes = info.subgroup_size, tile_n = lanes * choice.columns;
    kernel = Kernel{"matmul_subgroup",
                    {lanes, choice.rows, choice.columns, options.transpose_a, options.transpose_b,
                     bias.defined(), uint32_t(options.activation), options.accumulate, dropout}};
    groups = {uint32_t((n + tile_n - 1) / tile_n), uint32_t((m + choice.rows - 1) / choice.rows),
              uint32_t(batch)};
  } else {
    VKT_REQUIRE(
        choice.rows == choice.columns && (choice.rows == 0 || choice.rows == 4 || choice.rows == 8),
        "matmul",
        "the tiled kernel takes 4x4 or 8x8 outputs per invocation, got " +
            std::to_string(choice.rows) + "x" + std::to_string(choice.columns));
    Tiling t = choose_tiling(info, choice.rows, m, n);
    uint32_t threads = (t.bm / t.tm) * (t.bn / t.tn);
    // vec4 staging: the operand's contiguous dimension (and so each batch's matrix) a multiple
    // of 4, and the tensor on 16 bytes.
    bool vec4_a = (options.transpose_a ? m : k) % 4 == 0 && vec4_aligned({a});
    bool vec4_b = (options.transpose_b ? k : n) % 4 == 0 && vec4_aligned({b});
    kernel = Kernel{"matmul",
                    {threads, t.bm, t.bn, t.bk, t.tm, t.tn, options.transpose_a,
                     options.transpose_b, bias.defined(), uint32_t(options.activation),
                     options.accumulate, vec4_a, vec4_b, dropout}};
    groups = {uint32_t((n + t.bn - 1) / t.bn), uint32_t((m + t.bm - 1) / t.bm), uint32_t(batch)};
  }
  require_grid(info, groups, "matmul", "C " + shape_str(c.shape()));
  Access c_access = options.accumulate ? Access::read_write : Access::write;
  scheduler_of(a).dispatch(kernel,
                           {in(a),
                            in(b),
                            {c, c_access},
                            in(bias.defined() ? bias : a),
                            in(dropout ? options.dropout_step : a)},
                           push, groups);
}

void set_matmul_precision(const Device& device, MatmulPrecision precision) {
  VKT_REQUIRE(precision == MatmulPrecision::device_default ||
                  precision == MatmulPrecision::float32 ||
                  precision == MatmulPrecision::float16_inputs,
              "set_matmul_precision", "unknown precision " + std::to_string(uint32_t(precision)));
  device.state().matmul_precision =
      precision == MatmulPrecision::device_default ? MatmulPrecision::float32 : precision;
}

MatmulPrecision matmul_precision(const Device& device) {
  return device.state().matmul_precision;
}

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options, const Tensor& bias) {
  require_defined(a, "matmul", "A");
  require_defined(b, "matmul", "B");
  Operand oa = operand(a, "A"), ob = operand(b, "B");
  int64_t m = options.transpose_a ? oa.cols : oa.rows;
  int64_t n = options.transpose_b ? ob.rows : ob.cols;
  Shape shape =
      (a.dim() == 3 || b.dim() == 3) ? Shape{std::max(oa.batch, ob.batch), m, n} : Shape{m, n};
  Tensor c = Tensor::empty(a.device(), shape);
  MatmulOptions forward = options;
  forward.accumulate = false;
  matmul_into(a, b, c, forward, bias);
  return c;
}

}  // namespace vkt
