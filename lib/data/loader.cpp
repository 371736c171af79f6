// Dataset utilities (statistics, splits) and the DataLoader.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.hpp"
#include "vktrain/data.hpp"

namespace vkt::data {

namespace {

// splitmix64: a well-mixed 64-bit sequence from any seed; the permutations below use nothing from
// the C++ library's distributions, so they are the same with every compiler and standard library.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = int64_t(splitmix64(state) % uint64_t(i + 1));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

Dataset subset(const Dataset& dataset, const std::vector<int64_t>& indices) {
  Dataset result = dataset;
  int64_t size = dataset.image_size();
  result.count = int64_t(indices.size());
  result.images.resize(indices.size() * size_t(size));
  result.labels.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(dataset.images.begin() + indices[i] * size, size,
                result.images.begin() + int64_t(i) * size);
    result.labels[i] = dataset.labels[size_t(indices[i])];
  }
  return result;
}

}  // namespace

std::pair<std::vector<float>, std::vector<float>> channel_stats(const Dataset& dataset) {
  VKT_REQUIRE(
      dataset.count > 0 && int64_t(dataset.images.size()) == dataset.count * dataset.image_size(),
      "channel_stats", "the dataset is empty or its images do not match its shape");
  int64_t plane = dataset.height * dataset.width;
  std::vector<float> mean(size_t(dataset.channels)), std(size_t(dataset.channels));
  for (int64_t c = 0; c < dataset.channels; ++c) {
    double sum = 0, sum_sq = 0;
    for (int64_t n = 0; n < dataset.count; ++n) {
      const float* p = dataset.images.data() + (n * dataset.channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) sum += p[i];
    }
    double count = double(dataset.count * plane), m = sum / count;
    for (int64_t n = 0; n < dataset.count; ++n) {
      const float* p = dataset.images.data() + (n * dataset.channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) sum_sq += (p[i] - m) * (p[i] - m);
    }
    mean[size_t(c)] = float(m);
    std[size_t(c)] = float(std::sqrt(sum_sq / count));
  }
  return {mean, std};
}

void normalize(Dataset& dataset, const std::vector<float>& mean, const std::vector<float>& std) {
  VKT_REQUIRE(int64_t(mean.size()) == dataset.channels && int64_t(std.size()) == dataset.channels,
              "normalize",
              "mean and std need one value per channel (" + std::to_string(dataset.channels) + ")");
  VKT_REQUIRE(int64_t(dataset.images.size()) == dataset.count * dataset.image_size(), "normalize",
              "the dataset's images do not match its shape");
  for (int64_t c = 0; c < dataset.channels; ++c)
    VKT_REQUIRE(
        std::isfinite(mean[size_t(c)]) && std[size_t(c)] > 0 && std::isfinite(std[size_t(c)]),
        "normalize",
        "channel " + std::to_string(c) + " has mean " + std::to_string(mean[size_t(c)]) +
            " and std " + std::to_string(std[size_t(c)]) + ": std must be positive and finite");
  int64_t plane = dataset.height * dataset.width;
  for (int64_t n = 0; n < dataset.count; ++n)
    for (int64_t c = 0; c < dataset.channels; ++c) {
      float* p = dataset.images.data() + (n * dataset.channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) p[i] = (p[i] - mean[size_t(c)]) / std[size_t(c)];
    }
}

std::pair<Dataset, Dataset> split(const Dataset& dataset, int64_t validation_count, uint64_t seed) {
  VKT_REQUIRE(validation_count >= 0 && validation_count <= dataset.count, "split",
              "validation count " + std::to_string(validation_count) + " outside [0, " +
                  std::to_string(dataset.count) + "]");
  std::vector<int64_t> order = permutation(dataset.count, seed ^ 0x5EED5EED5EEDull);
  std::vector<int64_t> validation(order.begin(), order.begin() + validation_count);
  std::vector<int64_t> train(order.begin() + validation_count, order.end());
  std::sort(validation.begin(), validation.end());
  std::sort(train.begin(), train.end());
  return {subset(dataset, train), subset(dataset, validation)};
}

Dataset head(const Dataset& dataset, int64_t count) {
  VKT_REQUIRE(count >= 0, "data::head", "count must be >= 0, got " + std::to_string(count));
  std::vector<int64_t> indices(size_t(std::min(count, dataset.count)));
  std::iota(indices.begin(), indices.end(), 0);
  return subset(dataset, indices);
}

DataLoader::DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed,
                       bool drop_last)
    : dataset_(&dataset),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      drop_last_(drop_last) {
  VKT_REQUIRE(batch_size > 0, "DataLoader",
              "batch_size must be positive, got " + std::to_string(batch_size));
  VKT_REQUIRE(dataset.count > 0, "DataLoader", "the dataset is empty");
  VKT_REQUIRE(int64_t(dataset.images.size()) == dataset.count * dataset.image_size() &&
                  int64_t(dataset.labels.size()) == dataset.count,
              "DataLoader",
              "the dataset holds " + std::to_string(dataset.images.size()) + " pixels and " +
                  std::to_string(dataset.labels.size()) + " labels for " +
                  std::to_string(dataset.count) + " images of " +
                  std::to_string(dataset.image_size()) + " pixels");
  VKT_REQUIRE(!drop_last || dataset.count >= batch_size, "DataLoader",
              "drop_last with " + std::to_string(dataset.count) + " images and batches of " +
                  std::to_string(batch_size) + " leaves no batch");
  begin_epoch(0);
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  if (!shuffle_) {
    std::vector<int64_t> identity(size_t(dataset_->count));
    std::iota(identity.begin(), identity.end(), 0);
    return identity;
  }
  uint64_t state = seed_;
  uint64_t epoch_seed = splitmix64(state) ^ (uint64_t(epoch) * 0xD1B54A32D192ED03ull);
  return permutation(dataset_->count, epoch_seed);
}

void DataLoader::begin_epoch(int64_t epoch, int64_t skip_batches) {
  VKT_REQUIRE(epoch >= 0 && skip_batches >= 0, "DataLoader::begin_epoch",
              "epoch " + std::to_string(epoch) + " and skip_batches " +
                  std::to_string(skip_batches) + " must not be negative");
  order_ = order(epoch);
  position_ = std::min(skip_batches * batch_size_, dataset_->count);
}

int64_t DataLoader::batches_per_epoch() const {
  return drop_last_ ? dataset_->count / batch_size_
                    : (dataset_->count + batch_size_ - 1) / batch_size_;
}

int64_t DataLoader::next(const Tensor& images, const Tensor& labels) {
  const Dataset& d = *dataset_;
  Shape image_shape{batch_size_, d.channels, d.height, d.width};
  VKT_REQUIRE(
      images.shape() == image_shape && images.dtype() == DType::f32, "DataLoader::next",
      "images must be float32 " + shape_str(image_shape) + ", got " + shape_str(images.shape()));
  VKT_REQUIRE(labels.shape() == Shape{batch_size_} && labels.dtype() == DType::i32,
              "DataLoader::next",
              "labels must be int32 (" + std::to_string(batch_size_) + ",), got " +
                  shape_str(labels.shape()));
  int64_t remaining = d.count - position_;
  if (remaining <= 0 || (drop_last_ && remaining < batch_size_)) return 0;
  int64_t real = std::min(batch_size_, remaining);
  int64_t size = d.image_size();
  std::vector<float>& host_images = staging_images_[buffer_];
  std::vector<int32_t>& host_labels = staging_labels_[buffer_];
  buffer_ ^= 1;
  host_images.resize(size_t(batch_size_ * size));
  host_labels.resize(size_t(batch_size_));
  for (int64_t b = 0; b < batch_size_; ++b) {
    // A partial last batch is padded with its own first images; callers ignore them.
    int64_t index = order_[size_t(position_ + (b < real ? b : b % real))];
    std::copy_n(d.images.begin() + index * size, size, host_images.begin() + b * size);
    host_labels[size_t(b)] = d.labels[size_t(index)];
  }
  position_ += real;
  images.upload(host_images);
  labels.upload_raw({reinterpret_cast<const uint8_t*>(host_labels.data()), host_labels.size() * 4});
  return real;
}

}  // namespace vkt::data
