// Optimizer::step_if_finite (shaders/optim_guard.comp and the GUARDED update kernels): for every
// optimizer, a step with a finite loss equals step() bit for bit, a step with a NaN or infinite
// loss leaves parameters, state and the step count untouched, the skipped steps are counted with
// the first one's number, and a captured guarded step replays both ways.
#include <cstring>
#include <limits>
#include <memory>

#include <vktrain/optim.hpp>

#include "conformance.hpp"

using namespace vkt;
using namespace vkt::conformance;

namespace {

using MakeOptimizer = std::unique_ptr<optim::Optimizer> (*)(std::vector<optim::ParamRef>);

struct Variant {
  const char* name;
  MakeOptimizer make;
};

const Variant kVariants[] = {
    {"sgd_momentum",
     [](std::vector<optim::ParamRef> p) -> std::unique_ptr<optim::Optimizer> {
       return std::make_unique<optim::SGD>(std::move(p), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
     }},
    {"adam",
     [](std::vector<optim::ParamRef> p) -> std::unique_ptr<optim::Optimizer> {
       return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions{.lr = 0.01, .amsgrad = true});
     }},
    {"rmsprop",
     [](std::vector<optim::ParamRef> p) -> std::unique_ptr<optim::Optimizer> {
       return std::make_unique<optim::RMSprop>(
           std::move(p), optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
     }},
    {"adagrad",
     [](std::vector<optim::ParamRef> p) -> std::unique_ptr<optim::Optimizer> {
       return std::make_unique<optim::Adagrad>(std::move(p), optim::AdagradOptions{.lr = 0.1});
     }},
    {"adadelta",
     [](std::vector<optim::ParamRef> p) -> std::unique_ptr<optim::Optimizer> {
       return std::make_unique<optim::Adadelta>(std::move(p), optim::AdadeltaOptions{.lr = 1.0});
     }},
};

// Everything an optimizer's step changes: parameter values, state buffers, the step count.
std::vector<uint32_t> snapshot(const std::vector<optim::ParamRef>& params,
                               const optim::Optimizer& optimizer) {
  std::vector<uint32_t> all;
  for (const optim::ParamRef& p : params) {
    std::vector<uint32_t> v = bits(p.value.to_host());
    all.insert(all.end(), v.begin(), v.end());
  }
  for (const auto& [name, tensor] : optimizer.state()) {
    std::vector<uint32_t> v =
        tensor.dtype() == DType::u32 ? tensor.to_host_u32() : bits(tensor.to_host());
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

struct Model {
  std::vector<optim::ParamRef> params;
  std::unique_ptr<optim::Optimizer> optimizer;
};

Model make_model(Context& ctx, const Variant& variant, const std::vector<float>& w,
                 const std::vector<float>& b, const std::vector<float>& gw,
                 const std::vector<float>& gb) {
  Model m;
  m.params = {{"w", ctx.upload(w, {13, 7}), ctx.upload(gw, {13, 7})},
              {"b", ctx.upload(b, {13}), ctx.upload(gb, {13})}};
  m.optimizer = variant.make(m.params);
  return m;
}

}  // namespace

VKT_CASE("optim_guard", "skips_nonfinite_steps") {
  std::vector<float> w = ctx.uniform(91), b = ctx.uniform(13);
  std::vector<float> gw = ctx.uniform(91), gb = ctx.uniform(13);
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  const float kInf = std::numeric_limits<float>::infinity();
  for (const Variant& variant : kVariants) {
    std::string name = variant.name;
    Model plain = make_model(ctx, variant, w, b, gw, gb);
    Model guarded = make_model(ctx, variant, w, b, gw, gb);
    Tensor finite = ctx.upload(std::vector<float>{0.25f}, {1});
    Tensor nan = ctx.upload(std::vector<float>{kNaN}, {1});
    Tensor inf = ctx.upload(std::vector<float>{-kInf}, {1});

    plain.optimizer->step();
    guarded.optimizer->step_if_finite(finite);
    ctx.check_equal(name + "/finite_equals_step", "", snapshot(guarded.params, *guarded.optimizer),
                    snapshot(plain.params, *plain.optimizer));

    std::vector<uint32_t> before = snapshot(guarded.params, *guarded.optimizer);
    guarded.optimizer->step_if_finite(nan);
    guarded.optimizer->step_if_finite(inf);
    ctx.check_equal(name + "/nonfinite_changes_nothing", "",
                    snapshot(guarded.params, *guarded.optimizer), before);

    // A captured guarded step, replayed with a finite and then a NaN loss in the same tensor.
    Tensor loss = Tensor::empty(ctx.device, {1});
    Sequence step =
        ctx.device.scheduler().capture([&] { guarded.optimizer->step_if_finite(loss); });
    copy(finite, loss);
    ctx.device.scheduler().replay(step);
    plain.optimizer->step();
    ctx.check_equal(name + "/replayed_finite_equals_step", "",
                    snapshot(guarded.params, *guarded.optimizer),
                    snapshot(plain.params, *plain.optimizer));
    copy(nan, loss);
    before = snapshot(guarded.params, *guarded.optimizer);
    ctx.device.scheduler().replay(step);
    ctx.check_equal(name + "/replayed_nonfinite_changes_nothing", "",
                    snapshot(guarded.params, *guarded.optimizer), before);

    // Calls 2, 3 and 5 were skipped; call 2 was the first.
    optim::Optimizer::SkippedSteps skipped = guarded.optimizer->skipped_steps();
    ctx.check_equal(name + "/skipped_count_and_first", "", std::vector<uint32_t>{skipped.count, skipped.first_step},
                    std::vector<uint32_t>{3, 2});
  }
  Model m = make_model(ctx, kVariants[0], w, b, gw, gb);
  ctx.check_error("two_elements", [&] { m.optimizer->step_if_finite(ctx.poisoned({2})); },
                  {"SGD", "step_if_finite", "one float32 element", "(2"});
}
