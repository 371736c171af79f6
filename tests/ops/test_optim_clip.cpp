// Gradient clipping by global norm (L2, L1, infinity; clipped and not clipped; a large gradient
// spanning all partial blocks), clip_grad_value, and the max-norm constraint on rows — against
// float64 references — with determinism, capture/replay and argument errors.
#include <algorithm>
#include <cmath>

#include <vktrain/optim.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

// The norm: a sum of non-negative terms (Kahan slices, then fixed trees), a few roundings: 1e-6.
// The clipped gradients: one multiplication by a coefficient carrying the norm's error: 1e-6.
constexpr double kTolerance = 1e-6;

struct Grads {
  std::vector<Shape> shapes;
  std::vector<std::vector<float>> values;
  std::vector<optim::ParamRef> refs;
};

Grads make_grads(Context& ctx, std::vector<Shape> shapes, float scale = 1.0f) {
  Grads g;
  g.shapes = std::move(shapes);
  for (size_t i = 0; i < g.shapes.size(); ++i) {
    std::vector<float> values = ctx.uniform(size_t(shape_numel(g.shapes[i])), -scale, scale);
    g.values.push_back(values);
    g.refs.push_back(
        {"p" + std::to_string(i), ctx.poisoned(g.shapes[i]), ctx.upload(values, g.shapes[i])});
  }
  return g;
}

double reference_norm(const Grads& g, double norm_type) {
  double total = 0;
  for (const auto& values : g.values)
    for (float v : values) {
      double a = std::abs(double(v));
      total = std::isinf(norm_type) ? std::max(total, a)
              : norm_type == 1      ? total + a
                                    : total + a * a;
    }
  return norm_type == 2 ? std::sqrt(total) : total;
}

void check_clip(Context& ctx, const std::string& label, const Grads& g, double max_norm,
                double norm_type) {
  optim::GradClipper clipper(g.refs, max_norm, norm_type);
  clipper.clip();
  double total = reference_norm(g, norm_type);
  ctx.check(label + "/total_norm", "", clipper.total_norm().to_host(), std::vector<double>{total},
            kTolerance);
  // torch: clip_coef = max_norm / (total + 1e-6), clamped to at most 1.
  double coefficient = std::min(1.0, max_norm / (total + 1e-6));
  std::vector<float> gpu;
  std::vector<double> ref;
  for (size_t i = 0; i < g.refs.size(); ++i) {
    std::vector<float> got = g.refs[i].grad.to_host();
    gpu.insert(gpu.end(), got.begin(), got.end());
    for (float v : g.values[i]) ref.push_back(v * coefficient);
  }
  ctx.check(label + "/grads", "", gpu, ref, kTolerance);
}

}  // namespace

VKT_CASE("clip_grad_norm", "l2") {
  std::vector<Shape> shapes{{1003}, {7, 13}, {1}, {0}};
  check_clip(ctx, "clipped", make_grads(ctx, shapes), 2.5, 2.0);
  // Not clipped: a coefficient of exactly 1 leaves the gradients bit for bit.
  Grads g = make_grads(ctx, shapes);
  optim::GradClipper clipper(g.refs, 1000.0);
  clipper.clip();
  bool unchanged = true;
  for (size_t i = 0; i < g.refs.size(); ++i)
    unchanged = unchanged && g.refs[i].grad.to_host() == g.values[i];
  ctx.check_that("not_clipped_unchanged", unchanged, 0, 0);
}

VKT_CASE("clip_grad_norm", "l1_and_infinity") {
  std::vector<Shape> shapes{{1003}, {7, 13}, {1}};
  check_clip(ctx, "l1", make_grads(ctx, shapes), 10.0, 1.0);
  check_clip(ctx, "inf", make_grads(ctx, shapes, 3.0f), 0.5, INFINITY);
}

VKT_CASE("clip_grad_norm", "large_and_deterministic") {
  // 300007 elements: all 64 partial workgroups, each invocation summing a strided slice.
  Grads g = make_grads(ctx, {{300007}, {513}}, 0.01f);
  check_clip(ctx, "large", g, 1.0, 2.0);
  Grads again = make_grads(ctx, {{300007}});
  optim::GradClipper clipper(again.refs, 1e9);
  clipper.clip();
  float first = clipper.total_norm().to_host()[0];
  clipper.clip();
  ctx.check_that("bitwise_repeat", clipper.total_norm().to_host()[0] == first, first, first);
  Tensor total = optim::clip_grad_norm(again.refs, 1e9);
  ctx.check_that("one_off_form", total.to_host()[0] == first, total.to_host()[0], first);
}

VKT_CASE("clip_grad_norm", "capture_replay") {
  Grads g = make_grads(ctx, {{777}, {3, 11}});
  optim::GradClipper clipper(g.refs, 1.0);
  Sequence sequence = ctx.device.scheduler().capture([&] { clipper.clip(); });
  for (int replay = 0; replay < 2; ++replay) {
    // Fresh gradients of a different size class each time: the norm is read on the device.
    float scale = replay == 0 ? 1.0f : 0.01f;
    for (size_t i = 0; i < g.refs.size(); ++i) {
      g.values[i] = ctx.uniform(g.values[i].size(), -scale, scale);
      g.refs[i].grad.upload(g.values[i]);
    }
    ctx.device.scheduler().replay(sequence);
    double total = reference_norm(g, 2.0);
    double coefficient = std::min(1.0, 1.0 / (total + 1e-6));
    std::vector<float> gpu;
    std::vector<double> ref;
    for (size_t i = 0; i < g.refs.size(); ++i) {
      std::vector<float> got = g.refs[i].grad.to_host();
      gpu.insert(gpu.end(), got.begin(), got.end());
      for (float v : g.values[i]) ref.push_back(v * coefficient);
    }
    std::string label = "replay" + std::to_string(replay);
    ctx.check(label + "/total_norm", "", clipper.total_norm().to_host(), std::vector<double>{total},
              kTolerance);
    ctx.check(label + "/grads", "", gpu, ref, kTolerance);
  }
}

VKT_CASE("clip_grad_norm", "clip_value_and_errors") {
  Grads g = make_grads(ctx, {{101}, {4, 5}}, 2.0f);
  optim::clip_grad_value(g.refs, 0.75);
  size_t wrong = 0;
  for (size_t i = 0; i < g.refs.size(); ++i) {
    std::vector<float> got = g.refs[i].grad.to_host();
    for (size_t j = 0; j < got.size(); ++j)
      wrong += got[j] != std::clamp(g.values[i][j], -0.75f, 0.75f);
  }
  ctx.check_that("clip_grad_value_exact", wrong == 0, double(wrong), 0);

  ctx.check_error("norm_type", [&] { optim::GradClipper(g.refs, 1.0, 3.0); },
                  {"clip_grad_norm", "norm_type 3", "1, 2 or infinity"});
  ctx.check_error("max_norm", [&] { optim::GradClipper(g.refs, -1.0); },
                  {"clip_grad_norm", "max_norm"});
  ctx.check_error("dtype",
                  [&] { optim::GradClipper({Tensor::zeros(ctx.device, {3}, DType::u32)}, 1.0); },
                  {"clip_grad_norm", "gradient 0", "uint32"});
}

namespace {

// torch.renorm(w, 2, 0, max_norm) in float64.
std::vector<double> renorm(const std::vector<float>& w, int64_t rows, double max_norm) {
  int64_t row_len = int64_t(w.size()) / rows;
  std::vector<double> out(w.begin(), w.end());
  for (int64_t r = 0; r < rows; ++r) {
    double squares = 0;
    for (int64_t j = 0; j < row_len; ++j)
      squares += out[size_t(r * row_len + j)] * out[size_t(r * row_len + j)];
    double norm = std::sqrt(squares);
    if (norm > max_norm)
      for (int64_t j = 0; j < row_len; ++j)
        out[size_t(r * row_len + j)] *= max_norm / (norm + 1e-7);
  }
  return out;
}

void check_max_norm(Context& ctx, const std::string& label, const Shape& shape, double max_norm) {
  std::vector<float> w = ctx.uniform(size_t(shape_numel(shape)));
  // Half the rows made small, so some rows are left alone and others rescaled.
  int64_t rows = shape[0], row_len = shape_numel(shape) / rows;
  for (int64_t r = 0; r < rows; r += 2)
    for (int64_t j = 0; j < row_len; ++j) w[size_t(r * row_len + j)] *= 0.01f;
  Tensor weight = ctx.upload(w, shape);
  optim::apply_max_norm(weight, max_norm);
  ctx.check(label, shape_str(shape), weight.to_host(), renorm(w, rows, max_norm), kTolerance);
}

}  // namespace

VKT_CASE("max_norm", "rows") {
  check_max_norm(ctx, "linear", {37, 13}, 1.0);
  check_max_norm(ctx, "conv_weight", {5, 3, 3, 3}, 1.5);
  check_max_norm(ctx, "long_rows", {3, 1001}, 2.0);  // rows longer than the workgroup
  check_max_norm(ctx, "one_row", {1, 7}, 0.5);
  check_max_norm(ctx, "vector", {29}, 0.25);  // each element its own row: |w| clamped
}

VKT_CASE("max_norm", "many_rows_and_errors") {
  // More rows than one grid dimension holds: the workgroups fold into y.
  check_max_norm(ctx, "folded_grid", {65539, 2}, 0.5);
  ctx.check_error("negative",
                  [&] {
                    optim::apply_max_norm(ctx.poisoned({3, 4}), -1.0);
                  },
                  {"max_norm", "-1"});
  ctx.check_error("scalar", [&] { optim::apply_max_norm(ctx.poisoned({}), 1.0); },
                  {"max_norm", "()"});
}
