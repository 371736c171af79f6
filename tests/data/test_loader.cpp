// Splits and the data loader: determinism by seed, coverage, and what reaches the GPU.
#include <catch2/catch.hpp>

#include <numeric>
#include <set>
#include <vktrain/data.hpp>

#include "test_device.hpp"

using namespace vkt;
using Catch::Contains;

namespace {

// Image i holds i + 0.25 p at pixel p (so pixel 0 names the image) and label i % 10.
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

std::vector<int64_t> image_ids(const data::Dataset& d) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < d.count; ++i) ids.push_back(int64_t(d.images[size_t(i * 4)]));
  return ids;
}

// The ids of the images of one epoch as they arrive on the GPU.
std::vector<int64_t> uploaded_epoch(data::DataLoader& loader, int64_t epoch, const Tensor& images,
                                    const Tensor& labels) {
  const int64_t size = 4;
  loader.begin_epoch(epoch);
  std::vector<int64_t> ids;
  for (int64_t real; (real = loader.next(images, labels)) > 0;) {
    std::vector<float> got = images.to_host();
    std::vector<int32_t> got_labels = labels.to_host_i32();
    for (int64_t b = 0; b < real; ++b) {
      int64_t id = int64_t(got[size_t(b * size)]);
      for (int64_t p = 0; p < size; ++p)
        REQUIRE(got[size_t(b * size + p)] == float(id) + 0.25f * float(p));
      REQUIRE(got_labels[size_t(b)] == int32_t(id % 10));
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("data: validation split is deterministic, disjoint and covering", "[data]") {
  data::Dataset d = numbered(103);
  auto [train, validation] = data::split(d, 20, 7);
  auto [train2, validation2] = data::split(d, 20, 7);
  auto [train3, validation3] = data::split(d, 20, 8);
  CHECK(train.count == 83);
  CHECK(validation.count == 20);
  CHECK(train.images.size() == 83 * 4);
  CHECK(validation.labels.size() == 20);
  CHECK(validation.images == validation2.images);
  CHECK(train.images == train2.images);
  CHECK(validation.images != validation3.images);
  std::vector<int64_t> train_ids = image_ids(train), validation_ids = image_ids(validation);
  // Each part keeps the dataset's order, with labels still matching their images.
  CHECK(std::is_sorted(train_ids.begin(), train_ids.end()));
  CHECK(std::is_sorted(validation_ids.begin(), validation_ids.end()));
  for (int64_t i = 0; i < validation.count; ++i)
    CHECK(validation.labels[size_t(i)] == int32_t(validation_ids[size_t(i)] % 10));
  std::set<int64_t> seen(train_ids.begin(), train_ids.end());
  seen.insert(validation_ids.begin(), validation_ids.end());
  CHECK(seen.size() == 103);  // disjoint (83 + 20 distinct) and covering
  CHECK(*seen.rbegin() == 102);
  // The validation part is not simply the first or last images.
  CHECK(validation_ids.back() - validation_ids.front() > 40);
  CHECK(data::split(d, 0, 1).first.count == 103);
  CHECK(data::split(d, 103, 1).second.count == 103);
  CHECK_THROWS_WITH(data::split(d, 104, 1), Contains("split"));
  CHECK(data::head(d, 5).count == 5);
  CHECK(image_ids(data::head(d, 5)) == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("data: the loader shuffles per epoch, deterministically, covering every image",
          "[data]") {
  data::Dataset d = numbered(50);
  data::DataLoader a(d, 8, true, 42), b(d, 8, true, 42), c(d, 8, true, 43);
  CHECK(a.order(0) == b.order(0));
  CHECK(a.order(5) == b.order(5));
  CHECK(a.order(0) != a.order(1));
  CHECK(a.order(1) != a.order(2));
  CHECK(a.order(0) != c.order(0));
  for (int64_t epoch : {0, 1, 3}) {
    std::vector<int64_t> order = a.order(epoch);
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> identity(50);
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(sorted == identity);  // a permutation: every image exactly once
    CHECK(order != identity);
  }
  CHECK(data::DataLoader(d, 8, false, 42).order(3) == data::DataLoader(d, 8, false, 7).order(0));
  CHECK(a.batches_per_epoch() == 7);
  CHECK(data::DataLoader(d, 8, true, 42, true).batches_per_epoch() == 6);
  CHECK(data::DataLoader(d, 50, true, 42, true).batches_per_epoch() == 1);
  CHECK(data::DataLoader(d, 64, true, 42).batches_per_epoch() == 1);

  CHECK_THROWS_WITH(data::DataLoader(d, 0, true, 1), Contains("batch_size must be positive"));
  CHECK_THROWS_WITH(data::DataLoader(d, 51, true, 1, true), Contains("leaves no batch"));
  data::Dataset broken = d;
  broken.labels.pop_back();
  CHECK_THROWS_WITH(data::DataLoader(broken, 8, true, 1), Contains("49 labels for 50 images"));
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
    CHECK(loader.batch_index() == batch);
    int64_t real = loader.next(images, labels);
    if (real == 0) break;
    sizes.push_back(real);
    std::vector<float> got = images.to_host();
    std::vector<int32_t> got_labels = labels.to_host_i32();
    for (int64_t b = 0; b < 8; ++b) {
      // A partial batch's extra rows repeat its own first images.
      int64_t index = order[size_t(batch * 8 + (b < real ? b : b % real))];
      for (int64_t p = 0; p < 4; ++p)
        REQUIRE(got[size_t(b * 4 + p)] == d.images[size_t(index * 4 + p)]);
      REQUIRE(got_labels[size_t(b)] == d.labels[size_t(index)]);
    }
  }
  CHECK(sizes == std::vector<int64_t>{8, 8, 5});
  CHECK(loader.next(images, labels) == 0);  // stays at the end until the next epoch
  // Resuming at batch 1 of the same epoch continues with the same images.
  loader.begin_epoch(2, 1);
  CHECK(loader.next(images, labels) == 8);
  CHECK(images.to_host()[0] == d.images[size_t(order[8] * 4)]);
  loader.begin_epoch(2, 9);  // past the end: an empty epoch
  CHECK(loader.next(images, labels) == 0);

  CHECK_THROWS_WITH(loader.next(Tensor::empty(device, {4, 1, 2, 2}), labels),
                    Contains("(8, 1, 2, 2)"));
  CHECK_THROWS_WITH(loader.next(images, Tensor::empty(device, {8})),
                    Contains("labels must be int32"));
}

TEST_CASE("data: every epoch's uploads cover the dataset once, in the seeded order", "[data]") {
  const Device& device = testing::test_device();
  data::Dataset d = numbered(29);
  Tensor images = Tensor::empty(device, {6, 1, 2, 2});
  Tensor labels = Tensor::empty(device, {6}, DType::i32);
  data::DataLoader loader(d, 6, true, 11), same(d, 6, true, 11);
  std::vector<int64_t> epoch0 = uploaded_epoch(loader, 0, images, labels);
  std::vector<int64_t> epoch1 = uploaded_epoch(loader, 1, images, labels);
  CHECK(epoch0 == loader.order(0));
  CHECK(epoch1 == loader.order(1));
  CHECK(epoch0 != epoch1);
  CHECK(std::set<int64_t>(epoch0.begin(), epoch0.end()).size() == 29);
  CHECK(std::set<int64_t>(epoch1.begin(), epoch1.end()).size() == 29);
  CHECK(uploaded_epoch(same, 1, images, labels) == epoch1);  // a fresh loader, same seed and epoch
  CHECK(uploaded_epoch(loader, 0, images, labels) == epoch0);  // an epoch replayed

  // drop_last: 4 full batches, 24 distinct images, the 5 left over skipped.
  data::DataLoader dropping(d, 6, true, 11, true);
  std::vector<int64_t> dropped = uploaded_epoch(dropping, 0, images, labels);
  CHECK(dropped.size() == 24);
  CHECK(std::set<int64_t>(dropped.begin(), dropped.end()).size() == 24);
  CHECK(dropped == std::vector<int64_t>(epoch0.begin(), epoch0.begin() + 24));

  // Without shuffling, the dataset's own order.
  data::DataLoader in_order(d, 6, false, 0);
  std::vector<int64_t> identity(29);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(uploaded_epoch(in_order, 4, images, labels) == identity);
}

TEST_CASE("data: uploads recorded back to back keep their own batches (double buffering)",
          "[data]") {
  // next() returns without waiting for the GPU and reuses its two host staging vectors in turn;
  // batches recorded before any is read back must still arrive intact.
  const Device& device = testing::test_device();
  data::Dataset d = numbered(40);
  data::DataLoader loader(d, 4, true, 3);
  std::vector<Tensor> images, labels;
  for (int k = 0; k < 5; ++k) {
    images.push_back(Tensor::empty(device, {4, 1, 2, 2}));
    labels.push_back(Tensor::empty(device, {4}, DType::i32));
    CHECK(loader.next(images.back(), labels.back()) == 4);
  }
  // The same device tensors overwritten twice before reading: the last upload wins.
  Tensor reused = Tensor::empty(device, {4, 1, 2, 2}),
         reused_labels = Tensor::empty(device, {4}, DType::i32);
  loader.next(reused, reused_labels);
  loader.next(reused, reused_labels);
  std::vector<int64_t> order = loader.order(0);
  for (int k = 0; k < 5; ++k) {
    std::vector<float> got = images[size_t(k)].to_host();
    std::vector<int32_t> got_labels = labels[size_t(k)].to_host_i32();
    for (int b = 0; b < 4; ++b) {
      int64_t index = order[size_t(k * 4 + b)];
      CHECK(got[size_t(b * 4)] == float(index));
      CHECK(got_labels[size_t(b)] == int32_t(index % 10));
    }
  }
  CHECK(reused.to_host()[0] == float(order[24]));
  CHECK(reused_labels.to_host_i32()[3] == int32_t(order[27] % 10));
}
