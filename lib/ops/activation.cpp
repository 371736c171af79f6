// Activations forward and backward: one elementwise kernel (shaders/activation.comp), the function
// and direction chosen by specialization constants.
#include "ops/launch.hpp"

namespace vkt {

using namespace detail;

namespace {

// PyTorch's default parameter: negative_slope 0.01 for leaky_relu, alpha 1 for elu.
float parameter(ActivationKind kind, std::optional<float> param) {
  if (param) return *param;
  return kind == ActivationKind::leaky_relu ? 0.01f : kind == ActivationKind::elu ? 1.0f : 0.0f;
}

void require_kind(ActivationKind kind) {
  VKT_REQUIRE(uint32_t(kind) <= uint32_t(ActivationKind::gelu_tanh), "activation",
              "unknown activation kind " + std::to_string(uint32_t(kind)));
}

// Whether f'(x) can be recovered from y = f(x) exactly.
bool derivative_from_output(ActivationKind kind, float param) {
  switch (kind) {
    case ActivationKind::relu:
    case ActivationKind::sigmoid:
    case ActivationKind::tanh: return true;
    case ActivationKind::leaky_relu:
    case ActivationKind::elu: return param >= 0.0f;  // y > 0 exactly when x > 0
    default: return false;
  }
}

void dispatch(ActivationKind kind, bool backward, bool from_output, const Tensor& saved,
              const Tensor& dy, const Tensor& out, float param, float gain = 1.0f) {
  struct {
    uint32_t n;
    float param, gain;
  } push{uint32_t(saved.numel()), param, gain};
  uint32_t vec4 = vec4_whole(uint64_t(saved.numel()), {saved, dy, out});
  Kernel kernel{"activation", {kElementwiseGroup, uint32_t(kind), backward, from_output, vec4}};
  dispatch_fours(kernel, "activation_windows", {in(saved), in(dy), vkt::out(out)}, {saved, dy},
                 uint64_t(saved.numel()), push, vec4);
}

}  // namespace

const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::relu: return "relu";
    case ActivationKind::leaky_relu: return "leaky_relu";
    case ActivationKind::elu: return "elu";
    case ActivationKind::sigmoid: return "sigmoid";
    case ActivationKind::tanh: return "tanh";
    case ActivationKind::gelu: return "gelu";
    case ActivationKind::gelu_tanh: return "gelu_tanh";
  }
  return "activation";
}

void activation_forward(ActivationKind kind, const Tensor& x, const Tensor& y,
                        std::optional<float> param) {
  require_kind(kind);
  const char* name = activation_name(kind);
  require_dtype(x, DType::f32, name, "x");
  require_dtype(y, DType::f32, name, "y");
  require_same_shape(x, y, name, "x", "y");
  require_same_device(x, y, name);
  VKT_REQUIRE(x.numel() <= int64_t(UINT32_MAX), name,
              "x " + shape_str(x.shape()) + " has more than 2^32 - 1 elements");
  if (x.numel() == 0) return;
  dispatch(kind, false, false, x, x, y, parameter(kind, param));
}

Tensor activation(ActivationKind kind, const Tensor& x, std::optional<float> param) {
  require_kind(kind);
  require_defined(x, activation_name(kind), "x");
  Tensor y = Tensor::empty(x.device(), x.shape());
  activation_forward(kind, x, y, param);
  return y;
}

void activation_backward(ActivationKind kind, const Tensor& dy, const Tensor& x, const Tensor& y,
                         const Tensor& dx, std::optional<float> param) {
  require_kind(kind);
  const char* name = activation_name(kind);
  float p = parameter(kind, param);
  require_dtype(dy, DType::f32, name, "dy");
  require_dtype(dx, DType::f32, name, "dx");
  require_same_shape(dy, dx, name, "dy", "dx");
  require_same_device(dy, dx, name);
  VKT_REQUIRE(dy.numel() <= int64_t(UINT32_MAX), name,
              "dy " + shape_str(dy.shape()) + " has more than 2^32 - 1 elements");
  // sigmoid and tanh prefer y (one multiply instead of an exp); the rest prefer x.
  bool prefer_output = kind == ActivationKind::sigmoid || kind == ActivationKind::tanh;
  bool can_use_output = derivative_from_output(kind, p);
  bool from_output = y.defined() && can_use_output && (prefer_output || !x.defined());
  if (!from_output) {
    VKT_REQUIRE(x.defined(), name,
                can_use_output
                    ? std::string("needs x or y, both are undefined")
                    : std::string("needs x (its derivative cannot be recovered from y") +
                          (kind == ActivationKind::leaky_relu || kind == ActivationKind::elu
                               ? " with a negative parameter)"
                               : ")"));
  }
  const Tensor& saved = from_output ? y : x;
  const char* saved_name = from_output ? "y" : "x";
  require_dtype(saved, DType::f32, name, saved_name);
  require_same_shape(saved, dy, name, saved_name, "dy");
  require_same_device(saved, dy, name);
  if (dy.numel() == 0) return;
  dispatch(kind, true, from_output, saved, dy, dx, p);
}

void relu_dropout_backward(const Tensor& dy, const Tensor& y, float scale, const Tensor& dx) {
  const char* name = "relu_dropout_backward";
  require_dtype(dy, DType::f32, name, "dy");
  require_dtype(y, DType::f32, name, "y");
  require_dtype(dx, DType::f32, name, "dx");
  require_same_shape(y, dy, name, "y", "dy");
  require_same_shape(dy, dx, name, "dy", "dx");
  require_same_device(dy, dx, name);
  require_same_device(y, dy, name);
  VKT_REQUIRE(dy.numel() <= int64_t(UINT32_MAX), name,
              "dy " + shape_str(dy.shape()) + " has more than 2^32 - 1 elements");
  VKT_REQUIRE(scale >= 0.0f, name, "scale must be 1 / (1 - p) >= 0, got " + std::to_string(scale));
  if (dy.numel() == 0) return;
  dispatch(ActivationKind::relu, true, true, y, dy, dx, 0.0f, scale);
}

Tensor activation_backward(ActivationKind kind, const Tensor& dy, const Tensor& x, const Tensor& y,
                           std::optional<float> param) {
  require_kind(kind);
  require_defined(dy, activation_name(kind), "dy");
  Tensor dx = Tensor::empty(dy.device(), dy.shape());
  activation_backward(kind, dy, x, y, dx, param);
  return dx;
}

}  // namespace vkt
