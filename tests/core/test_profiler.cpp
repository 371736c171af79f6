// vkt::Profiler: every eager command is counted under its name, heavy kernels measure longer than
// light ones, harvests past the query pool's size lose nothing, replays count as one command,
// captured dispatches are not bracketed, scopes split the rows (backward() opens one per op), and
// misuse is a clear error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

#include "test_device.hpp"
#include "vktrain/functional.hpp"

using namespace vkt;

namespace {
const KernelTime* find(const std::vector<KernelTime>& kernels, const std::string& prefix,
                       const std::string& scope = "") {
  for (const KernelTime& k : kernels)
    if (k.name.rfind(prefix, 0) == 0 && k.scope == scope) return &k;
  return nullptr;
}
const KernelTime* find_exact(const std::vector<KernelTime>& kernels, const std::string& name) {
  for (const KernelTime& k : kernels)
    if (k.name == name && k.scope.empty()) return &k;
  return nullptr;
}
}  // namespace

TEST_CASE("profiler: counts eager commands by name and times them", "[core]") {
  const Device& device = testing::test_device();
  if (!device.info().timestamp_queries) {
    CHECK_THROWS_WITH(Profiler(device), Catch::Contains("writes no timestamps"));
    return;
  }
  std::vector<float> a(97 * 131, 0.25f), b(131 * 89, 0.5f), small(17, 1.0f);
  Tensor ta = Tensor::from_host(device, a, {97, 131}), tb = Tensor::from_host(device, b, {131, 89});
  Tensor x = Tensor::from_host(device, small, {17});
  // The tiled kernel: one dispatch named "matmul" a call (the packed one, lavapipe's default for
  // this shape, adds packing dispatches whose share of the time varies from run to run).
  const MatmulOptions tiled{.kernel = {KernelChoice::Kind::tiled}};
  // Warm-up: CPU drivers compile a pipeline's code at its first launch, on the device timeline.
  (void)matmul(ta, tb, tiled);
  unary_into(UnaryOp::add_scalar, x, 0.0f, x);
  device.synchronize();
  auto start = std::chrono::steady_clock::now();
  Profiler profiler(device);
  Tensor c;
  for (int i = 0; i < 3; ++i) c = matmul(ta, tb, tiled);
  for (int i = 0; i < 5; ++i) unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  Tensor y = Tensor::empty(device, {17});
  device.scheduler().copy(x, y);
  Tensor z = Tensor::from_host(device, small, {17});  // an upload
  std::vector<float> got = y.to_host();                // a download
  std::vector<KernelTime> kernels = profiler.kernels();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  CHECK(got[16] == 6.0f);  // profiling changes no result
  const KernelTime* mm = find_exact(kernels, "matmul");
  const KernelTime* unary = find_exact(kernels, "unary");
  REQUIRE(mm);
  REQUIRE(unary);
  CHECK(mm->calls == 3);
  CHECK(unary->calls == 5);
  for (const char* name : {"copy", "upload", "download"}) {
    INFO(name);
    const KernelTime* k = find(kernels, name);
    REQUIRE(k);
    CHECK(k->calls == 1);
  }
  // 97x131x89 (1.1 MFMA) against 17 additions: the heavy kernel takes longer per call.
  CHECK(mm->seconds / 3 > unary->seconds / 5);
  CHECK(std::is_sorted(kernels.begin(), kernels.end(),
                       [](const KernelTime& p, const KernelTime& q) { return p.seconds > q.seconds; }));
  double total = profiler.total_seconds();
  CHECK(total > 0);
  CHECK(total <= wall);
  std::string table = profiler.table(2, 1);
  CHECK_THAT(table, Catch::Contains("kernel") && Catch::Contains("total") && Catch::Contains("more)"));
  CHECK_THAT(table, Catch::Contains(kernels[0].name));
  (void)z;
}

TEST_CASE("profiler: more commands than one harvest holds, reset, one at a time", "[core]") {
  const Device& device = testing::test_device();
  if (!device.info().timestamp_queries) return;
  Tensor x = Tensor::zeros(device, {33});
  Profiler profiler(device);
  CHECK_THROWS_WITH(Profiler(device), Catch::Contains("Profiler") && Catch::Contains("one at a time"));
  const int kCount = int(Profiler::kPairsPerHarvest) + 77;
  for (int i = 0; i < kCount; ++i) unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  CHECK(x.to_host()[32] == float(kCount));
  const KernelTime* unary = find(profiler.kernels(), "unary");
  REQUIRE(unary);
  CHECK(unary->calls == uint64_t(kCount));
  profiler.reset();
  CHECK(profiler.kernels().empty());
  unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  REQUIRE(profiler.kernels().size() == 1);
  CHECK(profiler.kernels()[0].calls == 1);
}

TEST_CASE("profiler: a replay is one command; captured dispatches are not bracketed", "[core]") {
  const Device& device = testing::test_device();
  if (!device.info().timestamp_queries) return;
  Scheduler& scheduler = device.scheduler();
  Tensor x = Tensor::zeros(device, {40});
  CHECK_THROWS_WITH(scheduler.capture([&] { Profiler inner(device); }),
                    Catch::Contains("Profiler") && Catch::Contains("while capturing"));
  {
    Profiler first(device);  // a profiler that is gone leaves nothing behind
    unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  }
  Profiler profiler(device);
  Sequence step = scheduler.capture([&] {
    unary_into(UnaryOp::add_scalar, x, 1.0f, x);
    unary_into(UnaryOp::scale, x, 2.0f, x);
  });
  CHECK(profiler.kernels().empty());
  for (int i = 0; i < 3; ++i) scheduler.replay(step);
  std::vector<KernelTime> kernels = profiler.kernels();
  REQUIRE(kernels.size() == 1);
  CHECK(kernels[0].name == "replay");
  CHECK(kernels[0].calls == 3);
  CHECK(kernels[0].seconds > 0);
  CHECK(x.to_host()[0] == 22.0f);  // ((((1 + 1) * 2) + 1) * 2 + 1) * 2
}

TEST_CASE("profiler: scopes label what is recorded inside them; backward() labels each op", "[core]") {
  const Device& device = testing::test_device();
  if (!device.info().timestamp_queries) return;
  Tensor x = Tensor::zeros(device, {29});
  CHECK_THROWS_WITH(ProfileScope(device, ""), Catch::Contains("ProfileScope") && Catch::Contains("empty"));
  std::optional<Profiler> profiler;
  {
    ProfileScope before(device, "before");  // opened before the profiler: labels nothing
    profiler.emplace(device);
    unary_into(UnaryOp::add_scalar, x, 1.0f, x);
    {
      ProfileScope outer(device, "outer");
      unary_into(UnaryOp::add_scalar, x, 1.0f, x);
      {
        ProfileScope inner(device, "in", "ner");  // the two-part form: one label, "inner"
        unary_into(UnaryOp::add_scalar, x, 1.0f, x);
        unary_into(UnaryOp::add_scalar, x, 1.0f, x);
      }
      unary_into(UnaryOp::add_scalar, x, 1.0f, x);
    }
  }
  unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  std::vector<KernelTime> kernels = profiler->kernels();
  CHECK(x.to_host()[0] == 6.0f);
  REQUIRE(kernels.size() == 3);
  REQUIRE(find(kernels, "unary"));
  REQUIRE(find(kernels, "unary", "outer"));
  REQUIRE(find(kernels, "unary", "outer/inner"));
  CHECK(find(kernels, "unary")->calls == 2);
  CHECK(find(kernels, "unary", "outer")->calls == 2);
  CHECK(find(kernels, "unary", "outer/inner")->calls == 2);
  CHECK(profile_row_name(*find(kernels, "unary", "outer/inner")) == "outer/inner/unary");
  CHECK_THAT(profiler->table(), Catch::Contains("outer/inner/unary") && Catch::Contains("outer/unary"));
  std::vector<KernelTime> merged = merge_scopes(kernels);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].calls == 6);
  CHECK(merged[0].scope.empty());
  CHECK(merged[0].seconds == Approx(kernels[0].seconds + kernels[1].seconds + kernels[2].seconds));

  // A linear layer: the forward's matmul outside any scope, the backward's (dx and dW) inside
  // "linear.backward"; the sum's backward fills the seed gradient inside "sum.backward".
  profiler->reset();
  std::vector<float> xs(7 * 13, 0.5f), ws(5 * 13, 0.25f);
  nn::Variable in(Tensor::from_host(device, xs, {7, 13}), true);
  nn::Variable w(Tensor::from_host(device, ws, {5, 13}), true);
  nn::Variable loss = nn::F::sum(nn::F::linear(in, w));
  nn::backward(loss);
  kernels = profiler->kernels();
  const KernelTime* forward = find(kernels, "matmul");
  const KernelTime* backward = find(kernels, "matmul", "linear.backward");
  REQUIRE(forward);
  REQUIRE(backward);
  CHECK(forward->calls == 1);
  CHECK(backward->calls == 2);
  CHECK(w.grad().to_host()[0] == Approx(7 * 0.5f));
  profiler.reset();
  // Scopes opened while nothing profiles cost nothing and leave nothing behind.
  { ProfileScope idle(device, "idle"); }
  Profiler again(device);
  unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  REQUIRE(again.kernels().size() == 1);
  CHECK(again.kernels()[0].scope.empty());
}
