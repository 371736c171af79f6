// Losses and classification metrics: softmax cross-entropy, mse_loss and l1_loss, forward and
// backward, with PyTorch's semantics (torch.nn.functional.*), plus argmax and a count of correct
// predictions.
//
// Logits are (N, C) float32, labels (N,) int32 class indices. A reduced loss (mean, sum) is a
// 1-element tensor; Reduction::none gives one loss per row (cross-entropy) or per element (mse,
// l1). Reductions run in a fixed order with no atomics, so losses repeat bit for bit. Backwards
// take the upstream gradient dloss (the loss's shape) or, when it is undefined, 1 — the usual start
// of backpropagation. The `*_forward` / `*_backward` forms write into given tensors (for captured
// steps); the short forms allocate.
#pragma once

#include <cstdint>

#include "vktrain/tensor.hpp"

namespace vkt {

enum class Reduction : uint32_t { none = 0, mean = 1, sum = 2 };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  // ε in [0, 1]: the target is (1 − ε)·onehot(label) + ε/C (PyTorch's label_smoothing).
  float label_smoothing = 0.0f;
};

// loss = −Σ_j target_j·log softmax(logits)_j per row, then averaged (mean) or summed (sum) over
// rows, or per row (none: loss is (N,)). Computed as log-sum-exp with the row maximum subtracted,
// so large logits neither overflow nor lose precision. Labels live on the device and are not
// checked on the host: a label outside [0, C) gives that row a NaN loss (and NaN gradient), so a
// mean or sum over the batch is NaN — loud, where PyTorch raises an error. (ignore_index is not
// supported.)
void cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                           const CrossEntropyOptions& options = {});
Tensor cross_entropy(const Tensor& logits, const Tensor& labels,
                     const CrossEntropyOptions& options = {});

// dlogits (N, C) = (softmax(logits) − target)·g per row, with g = dloss·(1/N for mean); dloss is
// (1-element) for mean and sum, (N,) for none, or undefined for 1.
void cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Tensor& dlogits,
                            const CrossEntropyOptions& options = {}, const Tensor& dloss = {});
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                              const CrossEntropyOptions& options = {}, const Tensor& dloss = {});

// mse_loss: (input − target)², l1_loss: |input − target|, elementwise (none), averaged over all
// elements (mean) or summed (sum). input and target have the same shape.
void mse_loss_forward(const Tensor& input, const Tensor& target, const Tensor& loss,
                      Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
void l1_loss_forward(const Tensor& input, const Tensor& target, const Tensor& loss,
                     Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

// dinput = 2·(input − target)·g (mse) or sign(input − target)·g (l1; 0 where input = target, as
// PyTorch), g = dloss·(1/numel for mean); dloss as for cross_entropy_backward (input's shape for
// none).
void mse_loss_backward(const Tensor& input, const Tensor& target, const Tensor& dinput,
                       Reduction reduction = Reduction::mean, const Tensor& dloss = {});
Tensor mse_loss_backward(const Tensor& input, const Tensor& target,
                         Reduction reduction = Reduction::mean, const Tensor& dloss = {});
void l1_loss_backward(const Tensor& input, const Tensor& target, const Tensor& dinput,
                      Reduction reduction = Reduction::mean, const Tensor& dloss = {});
Tensor l1_loss_backward(const Tensor& input, const Tensor& target,
                        Reduction reduction = Reduction::mean, const Tensor& dloss = {});

// indices (N,) int32: per row of logits (N, C), the index of the largest value — the first on ties,
// and a NaN counts as the largest, as torch.argmax(logits, dim=1).
void argmax_into(const Tensor& logits, const Tensor& indices);
Tensor argmax(const Tensor& logits);

// count (1 element, float32) = the number of rows whose argmax equals the label (exact up to 2^24
// rows). A label outside [0, C) never counts. Accuracy is count / N.
void count_correct_into(const Tensor& logits, const Tensor& labels, const Tensor& count);
Tensor count_correct(const Tensor& logits, const Tensor& labels);

}  // namespace vkt
