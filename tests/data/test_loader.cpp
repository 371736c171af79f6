// Splits and the data loader: determinism by seed, coverage, and what reaches the GPU.
#include <catch2/catch.hpp>

#include <set>
#include <vktrain/data.hpp>

#include "test_device.hpp"

using namespace vkt;

namespace {
data::Dataset numbered(int64_t count) {
  data::Dataset d;
  d.count = count;
  d.channels = 1;
  d.height = 2;
  d.width = 2;
  d.num_classes = 10;
  for (int64_t i = 0; i < count; ++i) {
    for (int p = 0; p < 4; ++p) d.images.push_back(float(i) + 0.25f * float(p));
    d.labels.push_back(int32_t(i % 10));
  }
  return d;
}
}  // namespace

TEST_CASE("data: validation split is deterministic, disjoint and covering", "[data]") {
  data::Dataset d = numbered(103);
  auto [train, validation] = data::split(d, 20, 7);
  auto [train2, validation2] = data::split(d, 20, 7);
  auto [train3, validation3] = data::split(d, 20, 8);
  CHECK(train.count == 83);
  CHECK(validation.count == 20);
  CHECK(validation.images == validation2.images);
  CHECK(validation.images != validation3.images);
  std::set<float> seen;
  for (const auto* part : {&train, &validation})
    for (int64_t i = 0; i < part->count; ++i) seen.insert(part->images[size_t(i * 4)]);
  CHECK(seen.size() == 103);
  CHECK_THROWS_WITH(data::split(d, 104, 1), Catch::Contains("split"));
}

TEST_CASE("data: the loader shuffles per epoch, deterministically, covering every image", "[data]") {
  data::Dataset d = numbered(50);
  data::DataLoader a(d, 8, true, 42), b(d, 8, true, 42), c(d, 8, true, 43);
  CHECK(a.order(0) == b.order(0));
  CHECK(a.order(0) != a.order(1));
  CHECK(a.order(0) != c.order(0));
  std::vector<int64_t> order = a.order(3);
  CHECK(std::set<int64_t>(order.begin(), order.end()).size() == 50);
  CHECK(a.batches_per_epoch() == 7);
  CHECK(data::DataLoader(d, 8, true, 42, true).batches_per_epoch() == 6);
}

TEST_CASE("data: batches uploaded to the GPU equal the host data", "[data]") {
  const Device& device = testing::test_device();
  data::Dataset d = numbered(21);
  data::DataLoader loader(d, 8, true, 5);
  Tensor images = Tensor::empty(device, {8, 1, 2, 2});
  Tensor labels = Tensor::empty(device, {8}, DType::i32);
  loader.begin_epoch(2);
  std::vector<int64_t> order = loader.order(2);
  std::vector<int64_t> sizes;
  for (int64_t batch = 0;; ++batch) {
    int64_t real = loader.next(images, labels);
    if (real == 0) break;
    sizes.push_back(real);
    std::vector<float> got = images.to_host();
    std::vector<int32_t> got_labels = labels.to_host_i32();
    for (int64_t b = 0; b < real; ++b) {
      int64_t index = order[size_t(batch * 8 + b)];
      REQUIRE(got[size_t(b * 4 + 3)] == d.images[size_t(index * 4 + 3)]);
      REQUIRE(got_labels[size_t(b)] == d.labels[size_t(index)]);
    }
  }
  CHECK(sizes == std::vector<int64_t>{8, 8, 5});
  // Resuming at batch 1 of the same epoch continues with the same images.
  loader.begin_epoch(2, 1);
  loader.next(images, labels);
  CHECK(images.to_host()[0] == d.images[size_t(order[8] * 4)]);
  CHECK_THROWS_WITH(loader.next(Tensor::empty(device, {4, 1, 2, 2}), labels), Catch::Contains("(8, 1, 2, 2)"));
}
