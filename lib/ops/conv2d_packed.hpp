// The packed conv2d (KernelChoice::Kind::packed): shaders/conv2d_packed.comp, forward and
// backward-data of ungrouped convolutions with both operands read through uniform-buffer windows.
// lib/ops/conv2d.cpp checks the arguments and chooses the kernel; this records the dispatches.
#pragma once

#include <cstdint>

#include "vktrain/ops.hpp"

namespace vkt::detail {

// One implicit-GEMM pass as the packed kernel sees it: mode 0 forward (source x, result y), mode
// 1 backward-data (source dy, result dx).
struct PackedConvPass {
  uint32_t mode;
  int64_t batch, src_channels, src_h, src_w, dst_channels, dst_h, dst_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
};

// Whether the packed kernel with `tile` can run `pass` on the tensors' device: ungrouped, unit
// stride backward, a tile's weight rows within one window, a source plane within one and an
// image's planes within the windows left, tensors on 16 bytes.
bool packed_conv2d_fits(const PackedConvPass& pass, const Tensor& source, const Tensor& weight,
                        const KernelChoice& tile);

// The packed forward and backward-data tile's default positions a lane (TN): 16 — four quads — ran
// the 14x14 layer 7-10% faster than 8 with 8 channels, ties elsewhere (Change 42).
constexpr uint32_t kPackedConvColumns = 16;

// Whether the packed kernel stores the pass's results four at a time (conv2d_packed.comp's STORE4)
// with the default tile of `lanes` lanes by kPackedConvColumns positions: ungrouped, read in quads,
// output rows of whole fours. lib/ops/conv2d.cpp prefers it for such forward passes at any
// reduction length.
bool packed_conv2d_stores_quads(const PackedConvPass& pass, uint32_t lanes);

// result = conv (mode 0: + bias) with a resolved packed tile (rows = TM channels, columns = TN
// positions per lane); packed_conv2d_fits must hold.
void packed_conv2d(const PackedConvPass& pass, const Tensor& source, const Tensor& weight,
                   const Tensor& result, const Tensor& bias, const KernelChoice& tile);

// Backward-weight (pass in forward terms: source x, result dy) through
// shaders/conv2d_wgrad_packed.comp: ungrouped, an image's dy (or, with channel lanes, the planes
// of a dispatch's channels) and its padded x within a window each, tensors on 16 bytes.
bool packed_conv2d_wgrad_fits(const PackedConvPass& pass, const Tensor& dy, const Tensor& x);

// Below this many weight columns (Cin·kH·kW) the packed backward-weight turns its tile over
// (conv2d_wgrad_packed.comp's CHANNEL_LANES): lanes own output channels, not weight columns,
// which with `lanes` lanes of 4 columns each would mostly idle. Its tile is then its own (all
// the columns by up to 4·lanes channels), not the KernelChoice's.
constexpr int64_t kChannelLanesBelow = 32;
// Whether the pass runs so: few weight columns, at least as many output channels (the lanes then
// span the larger side), and the planes of 1, 2 or 4 channels a lane fit a window.
bool packed_conv2d_wgrad_channel_lanes(const PackedConvPass& pass, uint32_t lanes);

// dW (+= with accumulate) or, with `split`, the partials of conv2d_wgrad_subgroup.comp's splits of
// `split_positions` positions each (the same sums, bit for bit); packed_conv2d_wgrad_fits must
// hold.
void packed_conv2d_wgrad(const PackedConvPass& pass, const Tensor& dy, const Tensor& x,
                         const Tensor& result, const KernelChoice& tile, bool split,
                         bool accumulate, uint64_t split_positions);

}  // namespace vkt::detail
