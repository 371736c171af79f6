// Shared by the optimizer conformance cases: K steps of a GPU optimizer on fresh random gradients
// against a float64 model of torch.optim's update written in each test, and the check that a
// captured step replays bit for bit like eager steps.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <vktrain/optim.hpp>

#include "conformance.hpp"

namespace vkt::conformance::optim_test {

// Update arithmetic in float32 against float64: every element goes through ~10 roundings of
// relative size 6e-8 per step, without accumulating across steps (each step's inputs are the
// float32 results of the last), so ‖gpu − ref‖/‖ref‖ stays within a few 1e-7 after 5 steps.
constexpr double kTolerance = 1e-6;

// One parameter in float64: its value and its state buffers by torch's names.
struct RefParam {
  std::vector<double> value;
  std::map<std::string, std::vector<double>> buffers;
};

// torch's update of one parameter at step t with the group's lr and weight decay.
using Update = std::function<void(RefParam& param, const std::vector<float>& grad, int64_t t,
                                  double lr, double weight_decay)>;
using Make =
    std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::ParamGroup> groups)>;

struct GroupSpec {
  std::vector<size_t> params;  // indices into Run::shapes
  std::optional<double> lr, weight_decay;
};

struct Run {
  // An odd size (the update kernels' scalar form), a matrix of whole fours (their vec4 form,
  // vec4_whole) and a single element.
  std::vector<Shape> shapes{{1003}, {4, 17}, {1}};
  double value_scale = 1.0;  // initial θ uniform in ±value_scale
  double grad_scale = 1.0;
  int steps = 5;
  std::vector<GroupSpec> groups;    // empty: one group of every parameter, no overrides
  double lr = 0, weight_decay = 0;  // the optimizer's options (what groups fall back to)
  // The state buffers torch keeps for this configuration, and their initial values.
  std::vector<std::pair<std::string, float>> buffers;
  // Rates per group set before step t (torch: an assignment to param_groups[g]["lr"]).
  std::map<int, std::vector<double>> set_lrs;
};

inline std::string param_name(size_t index) {
  return "p" + std::to_string(index);
}

// Runs `run` on the GPU optimizer from `make` and on the reference `update`; checks every
// parameter's value and state buffer, the state names and the step counter.
inline void check_optimizer(Context& ctx, const std::string& label, const Run& run,
                            const Make& make, const Update& update, double tolerance = kTolerance) {
  size_t count = run.shapes.size();
  std::vector<optim::ParamRef> params;
  std::vector<RefParam> ref(count);
  for (size_t i = 0; i < count; ++i) {
    const Shape& shape = run.shapes[i];
    std::vector<float> value =
        ctx.uniform(size_t(shape_numel(shape)), float(-run.value_scale), float(run.value_scale));
    params.push_back({param_name(i), ctx.upload(value, shape), ctx.poisoned(shape)});
    ref[i].value = to_double(value);
    for (const auto& [buffer, initial] : run.buffers)
      ref[i].buffers[buffer].assign(value.size(), double(initial));
  }
  std::vector<GroupSpec> specs = run.groups;
  if (specs.empty()) {
    specs.push_back({});
    for (size_t i = 0; i < count; ++i) specs[0].params.push_back(i);
  }
  std::vector<optim::ParamGroup> groups;
  std::vector<double> lrs, decays;
  std::vector<size_t> group_of(count);
  for (size_t g = 0; g < specs.size(); ++g) {
    optim::ParamGroup group{{}, specs[g].lr, specs[g].weight_decay};
    for (size_t i : specs[g].params) group.params.push_back(params[i]), group_of[i] = g;
    groups.push_back(group);
    lrs.push_back(specs[g].lr.value_or(run.lr));
    decays.push_back(specs[g].weight_decay.value_or(run.weight_decay));
  }
  std::unique_ptr<optim::Optimizer> optimizer = make(groups);

  for (int t = 1; t <= run.steps; ++t) {
    if (auto it = run.set_lrs.find(t); it != run.set_lrs.end()) {
      for (size_t g = 0; g < it->second.size(); ++g) optimizer->set_lr(g, it->second[g]);
      lrs = it->second;
    }
    for (size_t i = 0; i < count; ++i) {
      std::vector<float> grad =
          ctx.uniform(ref[i].value.size(), float(-run.grad_scale), float(run.grad_scale));
      params[i].grad.upload(grad);
      update(ref[i], grad, t, lrs[group_of[i]], decays[group_of[i]]);
    }
    optimizer->step();
  }

  // Each quantity is checked over all parameters at once: one element alone can land near 0 by
  // cancellation (θ₀ − Σ lr·g), where float32's absolute error becomes a large relative one; in
  // the concatenation it weighs by its size, and a wrong or unwritten element still shows (NaN
  // poison, or an error of ~1/√n ≫ the tolerance).
  std::string prefix = label.empty() ? "" : label + "/";
  std::string all_shapes;
  for (const Shape& shape : run.shapes)
    all_shapes += (all_shapes.empty() ? "" : " ") + shape_str(shape);
  std::set<std::string> expected{"step"}, reported;
  for (size_t i = 0; i < count; ++i)
    for (const auto& [buffer, initial] : run.buffers) expected.insert(param_name(i) + "." + buffer);
  std::map<std::string, std::pair<std::vector<float>, std::vector<double>>> gathered;
  for (const auto& [name, tensor] : optimizer->state()) {
    reported.insert(name);
    if (name == "step") {
      uint32_t steps = tensor.to_host_u32()[0];
      ctx.check_that(prefix + "step_count", steps == uint32_t(run.steps), steps, run.steps);
      continue;
    }
    size_t dot = name.find('.');
    if (dot == std::string::npos) continue;  // reported below as an unexpected name
    size_t i = size_t(std::stoul(name.substr(1, dot - 1)));
    auto buffer = ref[i].buffers.find(name.substr(dot + 1));
    if (buffer == ref[i].buffers.end()) continue;
    auto& [gpu, reference] = gathered[buffer->first];
    std::vector<float> values = tensor.to_host();
    gpu.insert(gpu.end(), values.begin(), values.end());
    reference.insert(reference.end(), buffer->second.begin(), buffer->second.end());
  }
  ctx.check_that(prefix + "state_names", reported == expected, double(reported.size()),
                 double(expected.size()), "torch's state names, one per buffer and parameter");
  for (const auto& [buffer, pair] : gathered)
    ctx.check(prefix + buffer, all_shapes, pair.first, pair.second, tolerance);
  std::vector<float> values;
  std::vector<double> reference;
  for (size_t i = 0; i < count; ++i) {
    std::vector<float> got = params[i].value.to_host();
    values.insert(values.end(), got.begin(), got.end());
    reference.insert(reference.end(), ref[i].value.begin(), ref[i].value.end());
  }
  ctx.check(prefix + "values", all_shapes, values, reference, tolerance);
}

// Two optimizers on equal parameters: one steps eagerly, the other replays a step captured once
// (with a rate change between replays); values and state must agree bit for bit.
inline void check_capture(Context& ctx, const std::string& label, const Make& make, int steps = 4) {
  std::vector<Shape> shapes{{1003}, {4, 17}};  // the scalar and the vec4 kernel
  std::vector<optim::ParamRef> eager_params, captured_params;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<float> value = ctx.uniform(size_t(shape_numel(shapes[i])));
    eager_params.push_back({param_name(i), ctx.upload(value, shapes[i]), ctx.poisoned(shapes[i])});
    captured_params.push_back(
        {param_name(i), ctx.upload(value, shapes[i]), ctx.poisoned(shapes[i])});
  }
  auto eager = make({optim::ParamGroup{eager_params, {}, {}}});
  auto captured = make({optim::ParamGroup{captured_params, {}, {}}});
  Scheduler& scheduler = ctx.device.scheduler();
  Sequence sequence = scheduler.capture([&] { captured->step(); });
  double lr = eager->lr();
  for (int t = 1; t <= steps; ++t) {
    if (t == 3) {
      // A new rate between replays: the captured kernels read it from the device.
      lr *= 0.5;
      eager->set_lr(lr);
      captured->set_lr(lr);
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
      std::vector<float> grad = ctx.uniform(size_t(shape_numel(shapes[i])));
      eager_params[i].grad.upload(grad);
      captured_params[i].grad.upload(grad);
    }
    eager->step();
    scheduler.replay(sequence);
  }
  auto eager_state = eager->state(), captured_state = captured->state();
  size_t mismatches = eager_state.size() == captured_state.size() ? 0 : 1;
  for (size_t k = 0; k < std::min(eager_state.size(), captured_state.size()); ++k)
    if (eager_state[k].second.to_host_raw() != captured_state[k].second.to_host_raw()) ++mismatches;
  for (size_t i = 0; i < shapes.size(); ++i)
    if (eager_params[i].value.to_host_raw() != captured_params[i].value.to_host_raw()) ++mismatches;
  std::string prefix = label.empty() ? "" : label + "/";
  ctx.check_that(prefix + "replay_equals_eager_bitwise", mismatches == 0, double(mismatches), 0,
                 "tensors differing between " + std::to_string(steps) + " eager steps and replays");
  // The counter advanced on the device once per replay.
  ctx.check_that(prefix + "step_count", captured->step_count().to_host_u32()[0] == uint32_t(steps),
                 captured->step_count().to_host_u32()[0], steps);
}

}  // namespace vkt::conformance::optim_test
