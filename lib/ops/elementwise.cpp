// Elementwise ops: binary (add, sub, mul, div, axpy), unary (scale, relu, add_scalar, sign, clamp,
// replace_nonfinite, round_to_float16).
#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

// Errors name the op users called (add, not the kernel family "binary"); an op outside the enum
// names the entry point it came through.
const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
  }
  return "binary_into";
}

const char* op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::scale: return "scale";
    case UnaryOp::relu: return "relu";
    case UnaryOp::add_scalar: return "add_scalar";
    case UnaryOp::sign: return "sign";
    case UnaryOp::clamp: return "clamp";
    case UnaryOp::replace_nonfinite: return "replace_nonfinite";
    case UnaryOp::round_to_float16: return "round_to_float16";
  }
  return "unary_into";
}

}  // namespace

void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const char* name = op_name(op);
  VKT_REQUIRE(uint32_t(op) <= uint32_t(BinaryOp::div), name,
              "unknown binary op " + std::to_string(uint32_t(op)));
  require_dtype(a, DType::f32, name, "a");
  require_dtype(b, DType::f32, name, "b");
  require_dtype(out, DType::f32, name, "out");
  require_same_shape(a, b, name, "a", "b");
  require_same_shape(a, out, name, "a", "out");
  require_same_device(a, b, name);
  require_same_device(a, out, name);
  if (a.numel() == 0) return;
  struct {
    uint32_t n;
    float alpha;
  } push{uint32_t(a.numel()), 0.0f};
  scheduler_of(a).dispatch({"binary", {kElementwiseGroup, uint32_t(op)}},
                           {in(a), in(b), vkt::out(out)}, push, grid_1d(a.numel()));
}

void axpy(float alpha, const Tensor& x, const Tensor& y) {
  const char* name = "axpy";
  require_dtype(x, DType::f32, name, "x");
  require_dtype(y, DType::f32, name, "y");
  require_same_shape(x, y, name, "x", "y");
  require_same_device(x, y, name);
  if (x.numel() == 0) return;
  struct {
    uint32_t n;
    float alpha;
  } push{uint32_t(x.numel()), alpha};
  // Binary op 4 (a + alpha·b) with a = out = y: each invocation reads y[i] before writing it.
  scheduler_of(x).dispatch({"binary", {kElementwiseGroup, 4u}}, {in(y), in(x), vkt::out(y)}, push,
                           grid_1d(x.numel()));
}

namespace {
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  require_defined(a, op_name(op), "a");
  Tensor result = Tensor::empty(a.device(), a.shape());
  binary_into(op, a, b, result);
  return result;
}
Tensor unary(UnaryOp op, const Tensor& x, float alpha, float beta = 0.0f) {
  require_defined(x, op_name(op), "x");
  Tensor result = Tensor::empty(x.device(), x.shape());
  unary_into(op, x, alpha, result, beta);
  return result;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::add, a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::sub, a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::mul, a, b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::div, a, b);
}

void unary_into(UnaryOp op, const Tensor& x, float alpha, const Tensor& out, float beta) {
  const char* name = op_name(op);
  VKT_REQUIRE(uint32_t(op) <= uint32_t(UnaryOp::round_to_float16), name,
              "unknown unary op " + std::to_string(uint32_t(op)));
  require_dtype(x, DType::f32, name, "x");
  require_dtype(out, DType::f32, name, "out");
  require_same_shape(x, out, name, "x", "out");
  require_same_device(x, out, name);
  if (x.numel() == 0) return;
  struct {
    uint32_t n;
    float alpha, beta;
  } push{uint32_t(x.numel()), alpha, beta};
  uint32_t vec4 = vec4_whole(uint64_t(x.numel()), {x, out});
  dispatch_fours({"unary", {kElementwiseGroup, uint32_t(op), vec4}}, "unary_windows",
                 {in(x), vkt::out(out)}, {x}, uint64_t(x.numel()), push, vec4);
}

Tensor scale(const Tensor& x, float alpha) {
  return unary(UnaryOp::scale, x, alpha);
}
Tensor relu(const Tensor& x) {
  return unary(UnaryOp::relu, x, 0.0f);
}
Tensor add_scalar(const Tensor& x, float alpha) {
  return unary(UnaryOp::add_scalar, x, alpha);
}
Tensor sign(const Tensor& x) {
  return unary(UnaryOp::sign, x, 0.0f);
}
void clamp_into(const Tensor& x, float lo, float hi, const Tensor& out) {
  unary_into(UnaryOp::clamp, x, lo, out, hi);
}
Tensor clamp(const Tensor& x, float lo, float hi) {
  return unary(UnaryOp::clamp, x, lo, hi);
}
void replace_nonfinite_into(const Tensor& x, float value, const Tensor& out) {
  unary_into(UnaryOp::replace_nonfinite, x, value, out);
}
Tensor replace_nonfinite(const Tensor& x, float value) {
  return unary(UnaryOp::replace_nonfinite, x, value);
}
Tensor round_to_float16(const Tensor& x) {
  return unary(UnaryOp::round_to_float16, x, 0.0f);
}

}  // namespace vkt
