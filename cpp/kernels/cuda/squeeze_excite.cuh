// The squeeze-and-excitation gate (net::SqueezeExciteParams), in one, two or three launches:
// - the column sums of x viewed as [N, H * W, C] over H * W (reduce.cuh's split kernel: 16-byte
//   loads, the rows split over blocks, double partial sums in the workspace), unless the layer
//   has them as its sixth input (f64 [N, C], from the convolution that wrote x: one split);
// - where the gate blocks would together redo too much of it, the hidden layer into the
//   workspace (a block per sample and 8 hidden units, its warps over slices of C);
// - the gate: a block per (sample, 64 channels[, tile of pixels]) that adds the partial sums
//   into the pooled means and computes the hidden layer itself (shared memory, float32) or reads
//   it, then its 64 gate channels from w2's rows copied to shared memory; with scale_input the
//   block then multiplies its tile of x by them (16-byte accesses where C allows);
// - or, with SqueezeExciteMultiply::kSeparate, the gate blocks write the gates [N, C] to the
//   workspace and a streaming kernel multiplies x by them: one launch more, but the whole GPU
//   streams x at bandwidth instead of blocks that each wait for their gates first (batch 32).
// - or, with SqueezeExciteMultiply::kFused, one cooperative launch of gate blocks that first
//   sum their own tiles of x into the partial sums (one split a tile) and meet at a grid
//   barrier before they pool: the column sums' launch saved, and where a thread's share of its
//   tile stays in registers (batch 1) x is read once.
// At batch 1 the layer is latency-bound (a few microseconds of dependent loads and barriers),
// so the gate block issues every load that does not depend on the pooled means first (its
// first vectors of x, w2's rows, the biases) and keeps the chain pool -> hidden -> gate ->
// multiply free of other global loads. The activations are activation.cuh's.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// Pooling a sample adds the partial sums with groups of threads where C < 256 (2 KiB of shared
// memory), the hidden units' 16-byte loads of w1 interleaved 8 units at a time. The gate launch
// keeps C + 2 R + 384 floats in shared memory (kernels.h's squeeze_excite_fits), and w2's rows
// of the block (65 R more) where they fit in 48 KiB.
// Whether launch_squeeze_excite runs these shapes and dtypes; the reason when not.
Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
// Workspace bytes (the partial sums, the hidden layer, the gates) for these shapes, either mode.
size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
// kernels.h's squeeze_excite_fuses.
bool squeeze_excite_fuses(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream, SqueezeExciteMultiply multiply = SqueezeExciteMultiply::kInGate);

}  // namespace ingot::kernels::cuda::detail
