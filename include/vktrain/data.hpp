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

// An IDX image file (magic 0x00000803, (N, H, W) bytes) and its label file (0x00000801, (N,)),
// each gzipped (recognised by the magic bytes 0x1f 0x8b, whatever the name) or raw. Pixels are
// divided by 255 into [0, 1] (as ToTensor); labels must lie in [0, num_classes). With 10 classes
// the class names are Fashion-MNIST's (for MNIST digits, replace dataset.class_names).
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 int num_classes = 10);
// train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] (train) or t10k-* (test) in `dir`.
// Fashion-MNIST is in /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
Dataset load_mnist_dir(const std::filesystem::path& dir, bool train);
// CIFAR-10 binary batches: records of 1 label byte (< 10) and 3072 bytes (3 channel planes of
// 32x32, red, green, blue), concatenated in the order given.
Dataset load_cifar10(const std::vector<std::filesystem::path>& batch_files);
// data_batch_1.bin .. data_batch_5.bin (train, 50,000 images) or test_batch.bin (10,000) in `dir`
// or in its cifar-10-batches-bin/ subfolder.
Dataset load_cifar10_dir(const std::filesystem::path& dir, bool train);

// Per-channel mean and (population) standard deviation over every pixel of every image, in
// float64; and (x − mean[c]) / std[c] in place, as torchvision.transforms.Normalize. Compute the
// statistics on the training split and apply them to every split.
std::pair<std::vector<float>, std::vector<float>> channel_stats(const Dataset& dataset);
void normalize(Dataset& dataset, const std::vector<float>& mean, const std::vector<float>& std);

// The first `count` images of a random permutation (from `seed`) become the second dataset (a
// held-out validation split), the rest the first; deterministic, disjoint and covering. Both keep
// the original order of their images. The permutation uses no standard-library distribution, so it
// is the same with every compiler.
std::pair<Dataset, Dataset> split(const Dataset& dataset, int64_t validation_count, uint64_t seed);
// The first `count` images (for quick runs).
Dataset head(const Dataset& dataset, int64_t count);

// Batches of a dataset. Each epoch visits every image once, in the order of a permutation drawn
// from (seed, epoch) when shuffling — the same on every run, so a run resumed at an epoch (or
// batch) boundary sees the same batches as one that never stopped.
//
// Double buffering: next() gathers the batch into one of two host staging vectors (alternating
// between them) and records asynchronous uploads into the caller's device tensors; it never waits
// for the GPU. Tensor::upload copies the bytes into a device-visible staging buffer that the
// recorded transfer owns until the GPU has executed it, and the scheduler's hazard tracking orders
// the transfer after the previous step's reads of the same tensors. So while the GPU runs step k,
// the host gathers batch k+1 and records its upload and step k+1; batch k's host copy stays intact
// in the other vector meanwhile. The loader keeps a pointer to the dataset: it must outlive the
// loader (a temporary is refused at compile time).
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed,
             bool drop_last = false);
  DataLoader(Dataset&& dataset, int64_t batch_size, bool shuffle, uint64_t seed,
             bool drop_last = false) = delete;
  // Starts epoch `epoch` (0-based), optionally skipping its first `skip_batches` batches.
  void begin_epoch(int64_t epoch, int64_t skip_batches = 0);
  // Uploads the next batch into images (B, C, H, W) float32 and labels (B,) int32, B = batch_size;
  // returns the number of real images in it, or 0 at the end of the epoch (then call begin_epoch).
  // Without drop_last the last batch may be partial: its rows past the returned count repeat
  // that batch's first images and must be ignored (e.g. narrow(0, count) the outputs).
  int64_t next(const Tensor& images, const Tensor& labels);
  int64_t batches_per_epoch() const;
  // Batches of the current epoch handed out so far (counting skipped ones).
  int64_t batch_index() const { return (position_ + batch_size_ - 1) / batch_size_; }
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
