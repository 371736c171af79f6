// Datasets and the data loader.
//
// Readers turn files into a host Dataset — images (N, C, H, W) float32 scaled to [0, 1] and int32
// labels — validating everything first: a wrong magic number, a truncated or oversized file, counts
// that disagree or labels out of range is a vkt::Error naming the file, what was expected and what
// was found. IDX (MNIST, Fashion-MNIST) files may be gzipped or raw; CIFAR-10 uses its binary
// format. A DataLoader cuts a dataset into batches, shuffled per epoch from (seed, epoch), and
// uploads them into device tensors asynchronously (see DataLoader).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "vktrain/tensor.hpp"

namespace vkt::data {

struct Dataset {
  std::vector<float> images;    // (count, channels, height, width), row-major
  std::vector<int32_t> labels;  // (count,)
  int64_t count = 0, channels = 0, height = 0, width = 0;
  int num_classes = 0;
  std::vector<std::string> class_names;
  int64_t image_size() const { return channels * height * width; }
};

// Fashion-MNIST's classes, in label order.
const std::vector<std::string>& fashion_mnist_classes();

// An IDX image file (magic 0x00000803, (N, H, W) bytes) and its label file (0x00000801, (N,)).
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 int num_classes = 10);
// train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] (train) or t10k-* (test) in `dir`.
// Fashion-MNIST is in /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
Dataset load_mnist_dir(const std::filesystem::path& dir, bool train);
// CIFAR-10 binary batches: records of 1 label byte and 3072 bytes (3 channel planes of 32x32).
Dataset load_cifar10(const std::vector<std::filesystem::path>& batch_files);

// Per-channel statistics over a dataset, and (x − mean) / std in place (torchvision's Normalize).
std::pair<std::vector<float>, std::vector<float>> channel_stats(const Dataset& dataset);
void normalize(Dataset& dataset, const std::vector<float>& mean, const std::vector<float>& std);

// The first `count` images of a random permutation (from `seed`) become the second dataset (a
// held-out validation split), the rest the first; deterministic, disjoint and covering.
std::pair<Dataset, Dataset> split(const Dataset& dataset, int64_t validation_count, uint64_t seed);
// The first `count` images (for quick runs).
Dataset head(const Dataset& dataset, int64_t count);

// Batches of a dataset. Each epoch visits every image once, in the order of a permutation drawn
// from (seed, epoch) when shuffling — the same on every run, so a run resumed at an epoch (or batch)
// boundary sees the same batches as one that never stopped.
//
// Double buffering: next() fills one of two host staging vectors and records asynchronous uploads
// (Tensor::upload) into the caller's device tensors; it does not wait for the GPU. The uploads are
// ordered after the previous step's reads of those tensors by the scheduler's hazard tracking,
// while the host goes on preparing batch k+1 as the GPU runs step k.
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed,
             bool drop_last = false);
  // Starts epoch `epoch` (0-based), optionally skipping its first `skip_batches` batches.
  void begin_epoch(int64_t epoch, int64_t skip_batches = 0);
  // Uploads the next batch into images (B, C, H, W) and labels (B,) int32, B = batch_size; returns
  // the number of real images in it (the last batch may be partial: the rest repeats earlier
  // images and must be ignored), or 0 at the end of the epoch.
  int64_t next(const Tensor& images, const Tensor& labels);
  int64_t batches_per_epoch() const;
  int64_t batch_index() const { return position_ / batch_size_; }
  int64_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return *dataset_; }
  // The dataset indices of epoch `epoch`, in visiting order.
  std::vector<int64_t> order(int64_t epoch) const;

 private:
  const Dataset* dataset_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  std::vector<int64_t> order_;
  int64_t position_ = 0;
  std::vector<float> staging_images_[2];
  std::vector<int32_t> staging_labels_[2];
  int buffer_ = 0;
};

}  // namespace vkt::data
