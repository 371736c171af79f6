// The scheduler: dependent chains are ordered, independent work shares no barrier, write-after-read
// is ordered, captured sequences replay like re-recording, timestamps bracket work. Barrier counts
// are asserted exactly.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_device.hpp"

using namespace vkt;

namespace {
SchedulerStats delta(const SchedulerStats& before, const SchedulerStats& after) {
  return {after.dispatches - before.dispatches, after.barriers - before.barriers,
          after.transfers - before.transfers, after.submissions - before.submissions, 0};
}
}  // namespace

TEST_CASE("scheduler: a chain of 100 dependent dispatches", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i);
  Tensor x = Tensor::from_host(device, values, {1000});
  SchedulerStats before = scheduler.stats();
  for (int i = 0; i < 100; ++i) unary_into(UnaryOp::add_scalar, x, 1.0f, x);  // in place
  SchedulerStats chain = delta(before, scheduler.stats());
  CHECK(chain.dispatches == 100);
  CHECK(chain.barriers == 100);  // each dispatch waits for the previous write (the first: the upload)
  CHECK(chain.submissions >= 1);  // long recordings are submitted in chunks, without a host wait
  std::vector<float> got = x.to_host();
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == float(i) + 100.0f);
}

TEST_CASE("scheduler: independent dispatches share no barrier", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  const int kCount = 12;
  std::vector<Tensor> inputs, outputs;
  for (int i = 0; i < kCount; ++i) {
    std::vector<float> values(257, float(i));
    inputs.push_back(Tensor::from_host(device, values, {257}));
    outputs.push_back(Tensor::empty(device, {257}));
  }
  SchedulerStats before = scheduler.stats();
  for (int i = 0; i < kCount; ++i) unary_into(UnaryOp::scale, inputs[i], 2.0f, outputs[i]);
  SchedulerStats run = delta(before, scheduler.stats());
  CHECK(run.dispatches == kCount);
  CHECK(run.barriers == 1);  // one, before the first: the uploads must land; none between dispatches
  for (int i = 0; i < kCount; ++i) REQUIRE(outputs[i].to_host()[256] == 2.0f * float(i));
}

TEST_CASE("scheduler: write-after-read is ordered", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  std::vector<float> values(5000, 3.0f);
  Tensor x = Tensor::from_host(device, values, {5000});
  Tensor y = Tensor::empty(device, {5000});
  unary_into(UnaryOp::scale, x, 2.0f, y);  // reads x
  SchedulerStats before = scheduler.stats();
  x.fill(-1.0f);  // overwrites x: must wait for the read
  CHECK(delta(before, scheduler.stats()).barriers == 1);
  Tensor z = Tensor::empty(device, {5000});
  before = scheduler.stats();
  unary_into(UnaryOp::scale, y, 1.0f, z);  // reads y, already ordered by that barrier
  CHECK(delta(before, scheduler.stats()).barriers == 0);
  CHECK(y.to_host()[4999] == 6.0f);
  CHECK(x.to_host()[0] == -1.0f);
  CHECK(z.to_host()[17] == 6.0f);
}

TEST_CASE("scheduler: replaying a captured sequence equals re-recording", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  std::vector<float> values(333);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * float(i) - 1.0f;
  uint32_t zero[] = {0};

  // Eager: five steps recorded one by one.
  Tensor eager = Tensor::from_host(device, values, {333});
  Tensor eager_steps = Tensor::from_host(device, std::span<const uint32_t>(zero), {1});
  for (int step = 0; step < 5; ++step) {
    unary_into(UnaryOp::scale, eager, 0.5f, eager);
    unary_into(UnaryOp::add_scalar, eager, 1.0f, eager);
    increment(eager_steps);
  }

  // Captured once, replayed five times; the step counter advances on the device.
  Tensor replayed = Tensor::from_host(device, values, {333});
  Tensor steps = Tensor::from_host(device, std::span<const uint32_t>(zero), {1});
  scheduler.flush();
  SchedulerStats before = scheduler.stats();
  Sequence step = scheduler.capture([&] {
    unary_into(UnaryOp::scale, replayed, 0.5f, replayed);
    unary_into(UnaryOp::add_scalar, replayed, 1.0f, replayed);
    increment(steps);
  });
  CHECK(delta(before, scheduler.stats()).submissions == 0);  // nothing ran while capturing
  CHECK(step.dispatches() == 3);
  CHECK(step.barriers() == 2);  // the leading one, and add_scalar after scale; increment is independent
  for (int i = 0; i < 5; ++i) scheduler.replay(step);

  std::vector<float> a = eager.to_host(), b = replayed.to_host();
  REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(steps.to_host_u32()[0] == 5);
  CHECK(eager_steps.to_host_u32()[0] == 5);
}

TEST_CASE("scheduler: capture rejects host reads and nesting", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  Tensor x = Tensor::zeros(device, {16});
  CHECK_THROWS_WITH(scheduler.capture([&] { (void)x.to_host(); }),
                    Catch::Contains("cannot read a tensor back while capturing"));
  CHECK_THROWS_WITH(scheduler.capture([&] { (void)scheduler.capture([] {}); }),
                    Catch::Contains("captures do not nest"));
  CHECK_FALSE(scheduler.capturing());
  CHECK(x.to_host()[3] == 0.0f);  // the scheduler is still usable
}

TEST_CASE("scheduler: pooled descriptor sets where push descriptors are not used", "[core]") {
  Device device = testing::open_test_device({.disable_push_descriptors = true});
  std::vector<float> a(40 * 30, 0.5f), b(30 * 20, 2.0f);
  Tensor c = matmul(Tensor::from_host(device, a, {40, 30}), Tensor::from_host(device, b, {30, 20}));
  for (int i = 0; i < 300; ++i) unary_into(UnaryOp::add_scalar, c, 1.0f, c);  // several pools
  std::vector<float> got = c.to_host();
  CHECK(got[0] == 30.0f + 300.0f);
  CHECK(got[799] == 330.0f);
  CHECK(device.validation_messages() == 0);
}

TEST_CASE("scheduler: device timestamps bracket the work between them", "[core]") {
  const Device& device = testing::test_device();
  Scheduler& scheduler = device.scheduler();
  // DeviceInfo says whether the compute queue writes them; a queue that does not is refused clearly.
  if (!device.info().timestamp_queries) {
    CHECK(device.info().timestamp_valid_bits == 0);
    CHECK_THROWS_WITH(scheduler.timestamp(), Catch::Contains("writes no timestamps"));
    return;
  }
  CHECK(device.info().timestamp_valid_bits <= 64);
  Tensor x = Tensor::zeros(device, {1 << 16});
  uint64_t first = scheduler.timestamp();
  for (int i = 0; i < 20; ++i) unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  uint64_t middle = scheduler.timestamp();
  for (int i = 0; i < 20; ++i) unary_into(UnaryOp::add_scalar, x, 1.0f, x);
  uint64_t last = scheduler.timestamp();
  double t0 = scheduler.timestamp_seconds(first), t1 = scheduler.timestamp_seconds(middle),
         t2 = scheduler.timestamp_seconds(last);
  CHECK(t0 > 0);
  CHECK(t1 > t0);  // 20 dispatches over 65,536 elements take measurable time on any device
  CHECK(t2 > t1);
  CHECK(t2 - t0 < 60);  // seconds, not raw ticks
  CHECK(x.to_host()[12345] == 40.0f);
  // Ids are single use per slot: the oldest fall out of the ring; unknown ids are refused.
  CHECK_THROWS_WITH(scheduler.timestamp_seconds(last + 1), Catch::Contains("is not one of the last"));
  for (uint64_t i = 0; i < Scheduler::kTimestampSlots; ++i) (void)scheduler.timestamp();
  CHECK_THROWS_WITH(scheduler.timestamp_seconds(first), Catch::Contains("is not one of the last"));
  CHECK_THROWS_WITH(scheduler.capture([&] { (void)scheduler.timestamp(); }),
                    Catch::Contains("cannot be recorded into a captured sequence"));
  device.synchronize();
  CHECK(device.validation_messages() == 0);
}
